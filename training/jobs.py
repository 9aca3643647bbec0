"""RQ jobs of the training app. Jobs take ids, never model instances."""

from aimaker.logs import bind_job
from training.services import training_run_execute


@bind_job("run_id")
def train_run(run_id: int) -> str:
    """Train run `run_id` in this worker; the row records the outcome."""
    return training_run_execute(run_id=run_id).status
