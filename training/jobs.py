"""RQ jobs of the training app. Jobs take ids, never model instances."""

from aimaker.logs import bind_job
from training.services import training_run_execute


@bind_job("run_id")
def train_run(run_id: int) -> str:
    """Train run `run_id` in this worker; the row records the outcome."""
    return training_run_execute(run_id=run_id).status


@bind_job("job_id")
def offtopic_check(job_id: int) -> None:
    """Check collected labels for images unlike their others (training/services/offtopic.py)."""
    from projects.services import job_run
    from training.services.offtopic import offtopic_check_run

    job_run(
        job_id=job_id, work=lambda job, reporter: offtopic_check_run(job=job, reporter=reporter)
    )
