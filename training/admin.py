from django.contrib import admin

from training.models import EpochMetric, TrainingRun


class EpochInline(admin.TabularInline):
    model = EpochMetric
    extra = 0
    readonly_fields = ("stage", "epoch", "loss", "accuracy", "val_loss", "val_accuracy")
    can_delete = False


@admin.register(TrainingRun)
class TrainingRunAdmin(admin.ModelAdmin):
    list_display = ("__str__", "project", "status", "mode", "best_val_accuracy", "created_at")
    list_filter = ("status", "mode")
    search_fields = ("project__name", "project__owner__username")
    raw_id_fields = ("project", "created_by", "retry_of", "cancelled_by")
    exclude = ("snapshot",)  # can be huge
    readonly_fields = ("heartbeat_at", "started_at", "finished_at", "worker_name", "rq_job_id")
    inlines = [EpochInline]
