"""RQ jobs of the inference app. Jobs take ids, never model instances."""

from typing import Any

from aimaker.logs import bind_job
from inference import services
from inference.models import ModelVersion, Rerun
from projects.models import Job
from projects.services import JobReporter, job_run


@bind_job("job_id")
def rerun_predictions(job_id: int) -> None:
    """Re-run a project's prediction history with another version (see services.rerun_start)."""

    def work(job: Job, reporter: JobReporter) -> dict[str, Any]:
        rerun = Rerun.objects.select_related("project").get(pk=job.params["rerun_id"])
        return services.rerun_execute(rerun=rerun, reporter=reporter)

    job_run(job_id=job_id, work=work)


@bind_job("job_id")
def export_build(job_id: int) -> None:
    """Build one export ZIP into storage (queued by the first download request)."""

    def work(job: Job, reporter: JobReporter) -> dict[str, Any]:
        versions = ModelVersion.objects.select_related("run", "project")
        version = versions.filter(pk=job.params["version_id"]).first()
        if version is None:
            raise ValueError("This version was deleted.")
        reporter.progress(0, 1, "Building")
        name = services.export_build(version=version, fmt=job.params["fmt"])
        reporter.progress(1, 1, "Ready to download")
        return {"file": name}

    job_run(job_id=job_id, work=work)
