from django.contrib import admin, messages

from accounts.audit import PatientReadsLoggedAdmin
from diagnostics.models import CellResult, CellReview, ModelVersion, SpecimenSignOff
from diagnostics.registry import activate_model


@admin.register(CellResult)
class CellResultAdmin(PatientReadsLoggedAdmin, admin.ModelAdmin):
    list_display = ["image", "model_version", "status", "predicted_class", "seconds_taken", "finished_at"]
    list_filter = ["status", "model_version", "predicted_class"]
    readonly_fields = [f.name for f in CellResult._meta.fields]


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin):
    list_display = ["version", "is_active", "accuracy", "macro_f1", "registered_at", "activated_at"]
    readonly_fields = ["version", "directory", "metadata", "is_active", "registered_at", "activated_at"]
    actions = ["make_active"]

    @admin.display(description="validation accuracy")
    def accuracy(self, model):
        return model.validation.get("accuracy")

    @admin.display(description="macro-F1")
    def macro_f1(self, model):
        return model.validation.get("macro_f1")

    @admin.action(description="Make the selected model active (classifies new uploads)",
                  permissions=["change"])
    def make_active(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one model to make active.", messages.ERROR)
            return
        model = activate_model(queryset.get())
        self.message_user(request, f"{model} is now active: new uploads are classified with it.")

    def has_add_permission(self, request):
        return False  # models are registered by train_classifier


class ReadOnlyAdmin(admin.ModelAdmin):
    """Clinical records are written by the review pages only; the admin shows them."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(CellReview)
class CellReviewAdmin(PatientReadsLoggedAdmin, ReadOnlyAdmin):
    list_display = ["result", "reviewed_class", "accepted", "reviewer", "reviewed_at"]
    list_filter = ["accepted", "reviewed_class"]

    def patient_record(self, cell_review):
        return cell_review.result


@admin.register(SpecimenSignOff)
class SpecimenSignOffAdmin(PatientReadsLoggedAdmin, ReadOnlyAdmin):
    list_display = ["specimen", "version", "interpretation", "signed_by", "signed_at"]
    list_filter = ["interpretation"]

    def patient_record(self, sign_off):
        return sign_off.specimen
