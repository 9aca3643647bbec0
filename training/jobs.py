"""RQ jobs of the training app. Jobs take ids, never model instances."""

from training.services import training_run_execute


def train_run(run_id: int) -> str:
    """Train run `run_id` in this worker; the row records the outcome."""
    return training_run_execute(run_id=run_id).status
