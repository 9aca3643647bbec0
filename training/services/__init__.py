"""Business logic of training runs, by part: params (readiness), state (what pages show), runs
(start, retry, cancel, dispatch, sweeps) and runner (the worker side)."""

from training.services.params import (
    training_code_version,
    training_default_backbone,
    training_label_counts,
    training_params_build,
    training_problems,
)
from training.services.runner import (
    ARTIFACT_FILES,
    RunReporter,
    training_resume_dir,
    training_run_execute,
)
from training.services.runs import (
    ACTIVE,
    STALE_MESSAGE,
    training_run_cancel,
    training_run_retry,
    training_run_start,
    training_runs_dispatch,
    training_runs_fail_stale,
    training_runs_sweep,
)
from training.services.state import (
    PHASE_TEXT,
    PROGRESS_KEYS,
    QUEUE,
    WAITING,
    training_cards,
    training_epoch_dict,
    training_queue_position,
    training_queue_positions,
    training_run_epochs,
    training_run_notify,
    training_run_rq_job_id,
    training_run_state,
    training_snapshot,
)

__all__ = [
    "training_default_backbone",
    "training_params_build",
    "training_label_counts",
    "training_problems",
    "training_code_version",
    "QUEUE",
    "WAITING",
    "PHASE_TEXT",
    "PROGRESS_KEYS",
    "training_run_rq_job_id",
    "training_queue_position",
    "training_queue_positions",
    "training_cards",
    "training_run_state",
    "training_epoch_dict",
    "training_run_epochs",
    "training_run_notify",
    "training_snapshot",
    "STALE_MESSAGE",
    "training_run_start",
    "training_run_retry",
    "ACTIVE",
    "training_runs_dispatch",
    "training_run_cancel",
    "training_runs_sweep",
    "training_runs_fail_stale",
    "ARTIFACT_FILES",
    "RunReporter",
    "training_resume_dir",
    "training_run_execute",
]
