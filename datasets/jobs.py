"""RQ jobs of the datasets app. Jobs take ids, never model instances."""

from __future__ import annotations

from pathlib import Path

from aimaker.logs import bind_job
from projects.models import Job, Label
from projects.services import JobReporter, job_run


@bind_job("job_id")
def import_archive(job_id: int) -> None:
    """Import an uploaded ZIP as planned on the plan page (params: archive_path, label_map,
    loose_label_id). The temporary archive is deleted whatever happens."""
    from datasets.services import dataset_import_archive

    def work(job: Job, reporter: JobReporter) -> dict:
        params = job.params
        if not Path(params["archive_path"]).exists():
            # E.g. the plan was confirmed twice: the first import used and removed the upload.
            raise ValueError("This upload was already imported or has expired: upload it again.")
        loose_id = params.get("loose_label_id")
        loose = Label.objects.filter(project=job.project, pk=loose_id).first() if loose_id else None
        report = dataset_import_archive(
            project=job.project,
            archive_path=params["archive_path"],
            label_map={k: v for k, v in params.get("label_map", {}).items()},
            loose_label=loose,
            user=job.created_by,
            reporter=reporter,
        )
        reporter.job.message = report.summary()[:500]
        # Gone before anyone hears "succeeded" (the finally below covers failures).
        Path(params["archive_path"]).unlink(missing_ok=True)
        return report.as_dict()

    try:
        job_run(job_id=job_id, work=work)
    finally:
        path = Job.objects.filter(pk=job_id).values_list("params__archive_path", flat=True).first()
        if path:
            Path(path).unlink(missing_ok=True)


@bind_job("job_id")
def collect_images(job_id: int) -> None:
    """Collect images from the web for the labels in the job's params (datasets/collect.py)."""
    from datasets.collect import collection_run

    job_run(job_id=job_id, work=lambda job, reporter: collection_run(job=job, reporter=reporter))


@bind_job("job_id")
def export_dataset(job_id: int) -> None:
    """Build the dataset ZIP of the job's project (datasets/exporting.py)."""
    from datasets.exporting import dataset_export_run

    job_run(
        job_id=job_id, work=lambda job, reporter: dataset_export_run(job=job, reporter=reporter)
    )
