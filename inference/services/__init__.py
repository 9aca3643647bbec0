"""Business logic for using models, by entity: versions (and the default), predictions (and
rate limits), corrections, re-runs, exports and API tokens. Views, API, jobs and commands call
these."""

from inference.services.corrections import (
    ReviewOutcome,
    prediction_review,
    predictions_to_review,
)
from inference.services.exports import (
    export_build,
    export_filename,
    export_name,
    export_ready,
    export_request,
    exports_delete,
    version_preprocessing,
)
from inference.services.predictions import (
    PRUNE_EVERY,
    PredictionOutcome,
    image_read_upload,
    prediction_admit,
    prediction_create,
    prediction_keeps_image,
    prediction_thumbnail,
    predictions_prune,
    probabilities_ranked,
)
from inference.services.reruns import (
    rerun_execute,
    rerun_start,
)
from inference.services.tokens import (
    TOKEN_PREFIX,
    token_authenticate,
    token_create,
    token_revoke,
)
from inference.services.unknown import (
    model_version_set_unknown_threshold,
    unknown_rejects,
    unknown_threshold_for_share,
)
from inference.services.versions import (
    NoModelVersion,
    PredictionError,
    model_version_compare,
    model_version_create_for_run,
    model_version_default,
    model_version_delete,
    model_version_get,
    model_version_prepare_serving,
    model_version_set_default,
    model_versions_list,
    model_versions_sweep,
)

__all__ = [
    "model_version_set_unknown_threshold",
    "unknown_rejects",
    "unknown_threshold_for_share",
    "probabilities_ranked",
    "PredictionError",
    "NoModelVersion",
    "model_version_create_for_run",
    "model_version_prepare_serving",
    "model_versions_sweep",
    "model_versions_list",
    "model_version_default",
    "model_version_get",
    "model_version_set_default",
    "model_version_delete",
    "model_version_compare",
    "image_read_upload",
    "PredictionOutcome",
    "prediction_keeps_image",
    "prediction_thumbnail",
    "prediction_create",
    "prediction_admit",
    "PRUNE_EVERY",
    "predictions_prune",
    "ReviewOutcome",
    "prediction_review",
    "predictions_to_review",
    "rerun_start",
    "rerun_execute",
    "export_name",
    "export_filename",
    "version_preprocessing",
    "export_build",
    "export_ready",
    "export_request",
    "exports_delete",
    "TOKEN_PREFIX",
    "token_create",
    "token_revoke",
    "token_authenticate",
]
