from auditlog.models import LogEntry
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.db.models import Max
from django.template.response import TemplateResponse
from django.utils.html import format_html

from accounts.audit import PatientReadsLoggedAdmin
from diagnostics.models import (
    CellResult, CellReview, HoldoutEvaluation, ModelVersion, SpecimenSignOff,
)
from diagnostics.registry import activate_model

MAKE_ACTIVE_CONFIRMATION = "admin/diagnostics/modelversion/make_active_confirmation.html"


@admin.register(CellResult)
class CellResultAdmin(PatientReadsLoggedAdmin, admin.ModelAdmin):
    list_display = ["image", "model_version", "status", "predicted_class", "bethesda_category",
                    "seconds_taken", "finished_at"]
    list_filter = ["status", "model_version", "predicted_class", "bethesda_category"]
    readonly_fields = [f.name for f in CellResult._meta.fields]


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin):
    list_display = ["version", "role", "is_active", "accuracy", "macro_f1", "last_holdout_evaluation",
                    "registered_at", "activated_at"]
    list_filter = ["role", "is_active"]
    readonly_fields = ["version", "role", "directory", "latest_holdout", "metadata", "is_active",
                       "registered_at", "activated_at"]
    actions = ["make_active"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(
            last_holdout_at=Max("holdout_evaluations__evaluated_at"))

    @admin.display(description="validation accuracy")
    def accuracy(self, model):
        return model.validation.get("accuracy")

    @admin.display(description="macro-F1")
    def macro_f1(self, model):
        return model.validation.get("macro_f1")

    @admin.display(description="holdout evaluation", ordering="last_holdout_at")
    def last_holdout_evaluation(self, model):
        return model.last_holdout_at or "none"

    @admin.display(description="latest holdout evaluation")
    def latest_holdout(self, model):
        evaluation = model.latest_holdout_evaluation()
        if evaluation is None:
            return ("None: score it on the lab's own labelled cells with manage.py "
                    "evaluate_classifier --model VERSION --holdout PATH")
        return format_html("{} — {}", holdout_summary(evaluation),
                           f"{evaluation.evaluated_at:%Y-%m-%d %H:%M}")

    @admin.action(description="Make the selected model active in its role (classifies new "
                              "uploads)",
                  permissions=["change"])
    def make_active(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one model to make active.", messages.ERROR)
            return None
        model = queryset.get()
        evaluation = model.latest_holdout_evaluation()
        if request.POST.get("confirmed") != "yes":
            return self.make_active_confirmation(request, model, evaluation)
        activate_model(model)
        log_activation(model, request.user, evaluation)
        if evaluation is None:
            self.message_user(request, f"{model} is now active without a holdout evaluation: "
                                       f"new uploads are classified with it "
                                       f"({model.get_role_display()}).", messages.WARNING)
        else:
            self.message_user(request, f"{model} is now active: new uploads are classified "
                                       f"with it ({model.get_role_display()}).")
        return None

    def make_active_confirmation(self, request, model, evaluation):
        """The page shown before a model goes live: its latest holdout figures, or a
        warning that it was never verified on cells it did not see."""
        context = {
            **self.admin_site.each_context(request),
            "title": f"Make {model} active?",
            "opts": self.model._meta,
            "model_version": model,
            "evaluation": evaluation,
            "figures": holdout_figures(evaluation) if evaluation else [],
            "currently_active": ModelVersion.objects.filter(is_active=True,
                                                            role=model.role).first(),
            "action_checkbox_name": ACTION_CHECKBOX_NAME,
            "ends_shared_pass": ends_shared_pass(model),
        }
        return TemplateResponse(request, MAKE_ACTIVE_CONFIRMATION, context)

    def has_add_permission(self, request):
        return False  # models are registered by train_classifier


def ends_shared_pass(model):
    """The active model of the other role, where the active Bethesda model reads the active
    morphology model's backbone pass now (one pass a cell) and would not with ``model``
    active (two passes: the worker's time per cell about doubles); else None."""
    from diagnostics.engine.serving import metadata_reads_pass_of

    active = {version.role: version for version in ModelVersion.objects.filter(is_active=True)}
    morphology, bethesda = active.get(ModelVersion.Role.MORPHOLOGY), active.get(
        ModelVersion.Role.BETHESDA)
    if morphology is None or bethesda is None or model in (morphology, bethesda) or \
            not metadata_reads_pass_of(bethesda.metadata, morphology.metadata):
        return None
    if model.role == ModelVersion.Role.MORPHOLOGY:
        return None if metadata_reads_pass_of(bethesda.metadata, model.metadata) else bethesda
    return None if metadata_reads_pass_of(model.metadata, morphology.metadata) else morphology


def holdout_figures(evaluation):
    """(label, value) rows of a holdout evaluation, as the confirmation page lists them."""
    return [("Accuracy", _figure(evaluation.accuracy)),
            ("Macro-F1", _figure(evaluation.macro_f1)),
            ("Sensitivity (abnormal vs normal)", _figure(evaluation.sensitivity)),
            ("Specificity (abnormal vs normal)", _figure(evaluation.specificity)),
            ("Referred to a cytologist", _percent(evaluation.referral_rate)),
            ("Cells", evaluation.n_cells)]


def holdout_summary(evaluation):
    return (f"accuracy {_figure(evaluation.accuracy)}, macro-F1 {_figure(evaluation.macro_f1)}, "
            f"sensitivity {_figure(evaluation.sensitivity)}, specificity "
            f"{_figure(evaluation.specificity)}, referral rate "
            f"{_percent(evaluation.referral_rate)} on {evaluation.n_cells} cells of "
            f"{evaluation.holdout_path}, by {evaluation.evaluator_name()}")


def _figure(value):
    return "n/a" if value is None else f"{value:.3f}"


def _percent(value):
    return "n/a" if value is None else f"{value:.1%}"


def log_activation(model, user, evaluation):
    """One audit entry naming who made ``model`` active and on which holdout evaluation
    (none: they confirmed going live without one)."""
    LogEntry.objects.log_create(
        model, action=LogEntry.Action.UPDATE, force_log=True, actor=user,
        changes={"is_active": ["False", "True"]},
        additional_data={"holdout_evaluation": evaluation.pk if evaluation else None,
                         "activated_without_holdout_evaluation": evaluation is None})


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records written elsewhere only (clinical records by the review pages, holdout
    evaluations by evaluate_classifier); the admin shows them."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(HoldoutEvaluation)
class HoldoutEvaluationAdmin(ReadOnlyAdmin):
    """Written by evaluate_classifier --holdout only; the admin reads them."""

    list_display = ["model_version", "evaluated_at", "accuracy", "macro_f1", "sensitivity",
                    "specificity", "referral_rate", "n_cells", "holdout_path", "evaluator"]
    list_filter = ["model_version"]
    readonly_fields = [f.name for f in HoldoutEvaluation._meta.fields]

    @admin.display(description="by")
    def evaluator(self, evaluation):
        return evaluation.evaluator_name()


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
