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


@bind_job("version_id")
def export_build(version_id: int, fmt: str) -> str | None:
    """Build one export ZIP into storage (queued by the first download request)."""
    version = ModelVersion.objects.select_related("run", "project").filter(pk=version_id).first()
    if version is None:
        return None  # deleted meanwhile
    return services.export_build(version=version, fmt=fmt)
