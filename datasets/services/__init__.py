"""Business logic for training images, by part: ingest (one image), imports (archives and
folders) and browse (summaries, moving, deleting, near duplicates). Views, jobs, the web
collector and the CLI all call these."""

from datasets.services.browse import (
    dataset_notify,
    dataset_summary,
    image_delete_many,
    image_keep_many,
    image_move_many,
    image_release_many,
    near_duplicate_keep_both,
    near_duplicate_pairs,
)
from datasets.services.imports import (
    REPORT_LIST_MAX,
    ImportReport,
    archive_limits,
    dataset_archive_from_table,
    dataset_import_archive,
    dataset_import_folder,
    dataset_scan_archive,
    label_for_folder,
)
from datasets.services.ingest import (
    IMAGE_EXTENSIONS,
    NEAR_DUPLICATE_MAX_DISTANCE,
    PROVENANCE_FIELDS,
    IngestOutcome,
    PhashIndex,
    image_ingest,
    image_limits,
    storage_files_delete,
)
from datasets.services.plans import (
    PlanOutcome,
    dataset_plan_import,
)

__all__ = [
    "PlanOutcome",
    "dataset_plan_import",
    "storage_files_delete",
    "PROVENANCE_FIELDS",
    "NEAR_DUPLICATE_MAX_DISTANCE",
    "IMAGE_EXTENSIONS",
    "image_limits",
    "IngestOutcome",
    "PhashIndex",
    "image_ingest",
    "REPORT_LIST_MAX",
    "ImportReport",
    "label_for_folder",
    "archive_limits",
    "dataset_archive_from_table",
    "dataset_scan_archive",
    "dataset_import_archive",
    "dataset_import_folder",
    "dataset_summary",
    "dataset_notify",
    "image_delete_many",
    "image_keep_many",
    "image_move_many",
    "image_release_many",
    "near_duplicate_pairs",
    "near_duplicate_keep_both",
]
