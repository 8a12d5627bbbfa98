import hashlib
from pathlib import Path

from django.conf import settings
from django.core.validators import MaxLengthValidator
from django.db import models
from django.urls import reverse
from django.utils import timezone

from accounts.people import display_name
from celinsight.compiled_queries import CompiledQuery
from diagnostics.bethesda import (
    BethesdaFindings, ChoiceListField, Interpretation, Recommendation, labels, snomed_code,
)


# Free text a user types (comments, reasons): enough for a paragraph, not for a 2 MB report.
FREE_TEXT_MAX_LENGTH = 2000


def free_text(**options):
    """A TextField limited to FREE_TEXT_MAX_LENGTH in forms (max_length) and in model
    validation (the validator: Django does not check a TextField's max_length itself)."""
    return models.TextField(max_length=FREE_TEXT_MAX_LENGTH,
                            validators=[MaxLengthValidator(FREE_TEXT_MAX_LENGTH)], **options)


def heatmap_path(instance, filename):
    return f"heatmaps/{instance.image.specimen_id}/{instance.pk}.png"


class CellResult(models.Model):
    """The classification of one image by one model version."""

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"

    image = models.ForeignKey("imaging.ImageAsset", on_delete=models.CASCADE, related_name="results")
    model_version = models.CharField(max_length=100)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    predicted_class = models.CharField(max_length=100, blank=True)
    probabilities = models.JSONField(
        default=dict, blank=True, help_text="Class name → probability; the values sum to 1."
    )
    refer_to_cytologist = models.BooleanField(
        default=False,
        help_text="The model's calibrated confidence is below its referral threshold: a "
                  "cytologist should look at this cell.",
    )
    error = models.TextField(blank=True, help_text="Why classification failed.")
    # The Bethesda category of the same cell, by the active Bethesda model when the worker
    # classified it; blank where none was served (a deployment may ship only one model).
    bethesda_model_version = models.CharField(max_length=100, blank=True)
    bethesda_category = models.CharField(max_length=100, blank=True)
    bethesda_probabilities = models.JSONField(
        default=dict, blank=True,
        help_text="Bethesda category → probability, temperature-calibrated; sum to 1.")
    heatmap = models.FileField(
        upload_to=heatmap_path, max_length=255, blank=True,
        help_text="Grad-CAM overlay of the predicted class, written by the worker for flagged "
                  "and abnormal cells; empty for the others or when it could not be computed.",
    )
    seconds_taken = models.FloatField(null=True, blank=True)
    queued_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    @property
    def heatmap_version(self):
        """A hash of the stored heat map's name, which its content-addressed URL carries: the
        worker writes a heat map once, under a name storage never reuses (so no overwrite)."""
        return hashlib.sha256(self.heatmap.name.encode()).hexdigest()[:16] if self.heatmap else ""

    def heatmap_url(self):
        url = reverse("imaging:heatmap_file", args=[self.image_id, self.pk])
        return f"{url}?v={self.heatmap_version}"

    class Meta:
        ordering = ["queued_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["image", "model_version"], name="one_result_per_image_and_model"
            )
        ]
        indexes = [
            models.Index(fields=["status"]),
            # Worklist and batch counts join images to their results filtered by status.
            models.Index(fields=["image", "status"], name="result_image_status"),
            # The dashboard's window: finished results of the last days.
            models.Index(fields=["status", "finished_at"], name="result_status_finished"),
        ]

    def __str__(self):
        return f"{self.image} · {self.model_version} · {self.status}"

    @property
    def confidence(self):
        return self.probabilities.get(self.predicted_class) if self.predicted_class else None

    def probabilities_by_rank(self):
        return sorted(self.probabilities.items(), key=lambda item: item[1], reverse=True)

    @property
    def bethesda_label(self):
        """The Bethesda category as pages print it (NILM for the negative category)."""
        return bethesda_label(self.bethesda_category)

    @property
    def bethesda_confidence(self):
        return self.bethesda_probabilities.get(self.bethesda_category)


# The Bethesda model's negative category (CRIC's name); every other category is abnormal.
NILM_CATEGORY = "Negative for intraepithelial lesion"
# Least to most severe, the order pages and reports list the categories in.
BETHESDA_SEVERITY = (NILM_CATEGORY, "ASC-US", "LSIL", "ASC-H", "HSIL", "SCC")


def class_names(probability_maps):
    """The classes named in these probability maps, in alphabetical order (the models' own):
    PostgreSQL's jsonb keeps a map's keys in an order of its own, SQLite in the model's."""
    return sorted({name for probabilities in probability_maps for name in probabilities})


def by_severity(categories):
    """The categories least severe first; any the list does not know, last, by name."""
    rank = {name: index for index, name in enumerate(BETHESDA_SEVERITY)}
    return sorted(categories, key=lambda name: (rank.get(name, len(rank)), name))


def bethesda_label(category):
    return "NILM" if category == NILM_CATEGORY else category


def is_abnormal_bethesda_category(category):
    return bool(category) and category != NILM_CATEGORY


class ModelVersion(models.Model):
    """A trained classifier on disk, in one role. New uploads are classified with the active
    model of each role: a morphology class (SIPaKMeD) and a Bethesda category per cell."""

    class Role(models.TextChoices):
        MORPHOLOGY = "morphology", "Morphology (SIPaKMeD classes)"
        BETHESDA = "bethesda", "Bethesda categories"

    version = models.CharField(max_length=100, unique=True)
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.MORPHOLOGY,
                            help_text="What the model tells of a cell; one model is active "
                                      "per role.")
    directory = models.CharField(
        max_length=500,
        help_text="Folder holding metadata.json and the head file; relative to the project folder "
                  "when inside it.",
    )
    metadata = models.JSONField(default=dict, help_text="A copy of the model's metadata.json.")
    is_active = models.BooleanField(
        default=False,
        help_text="New uploads are classified with the active model of each role; only one "
                  "per role is.")
    registered_at = models.DateTimeField(auto_now_add=True)
    activated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-registered_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["role"], condition=models.Q(is_active=True),
                name="one_active_model_per_role")
        ]

    def __str__(self):
        return self.version

    @property
    def path(self):
        directory = Path(self.directory)
        return directory if directory.is_absolute() else settings.BASE_DIR / directory

    @property
    def validation(self):
        return self.metadata.get("validation", {})

    def latest_holdout_evaluation(self):
        """The newest :class:`HoldoutEvaluation` of this version, or None."""
        return self.holdout_evaluations.select_related("evaluated_by").first()


class HoldoutEvaluation(models.Model):
    """A model version scored as it is, without re-fitting, on labelled cells it never saw
    (``manage.py evaluate_classifier --holdout``): the lab's verification of the method on
    its own material, shown to the administrator who makes the version active."""

    model_version = models.ForeignKey(ModelVersion, on_delete=models.PROTECT,
                                      related_name="holdout_evaluations")
    holdout_path = models.CharField(max_length=500, help_text="The holdout folder scored.")
    holdout_sha256 = models.CharField(
        max_length=64, help_text="sha256 of the holdout's file list (for images/ + cells.csv: "
                                 "the fields' names and cells.csv's own sha256).")
    n_cells = models.PositiveIntegerField()
    report = models.JSONField(help_text="The figures, as evaluate_classifier --json writes them.")
    evaluated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
        related_name="+", help_text="The user answerable for this evaluation (--evaluated-by).")
    run_by = models.CharField(max_length=150, blank=True,
                              help_text="The operating-system account that ran the command.")
    evaluated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-evaluated_at", "-pk"]

    def __str__(self):
        return f"{self.model_version} on {self.holdout_path} ({self.evaluated_at:%Y-%m-%d %H:%M})"

    @property
    def metrics(self):
        return self.report.get("metrics", {})

    @property
    def accuracy(self):
        return self.metrics.get("accuracy")

    @property
    def macro_f1(self):
        return self.metrics.get("macro_f1")

    @property
    def sensitivity(self):
        return self.metrics.get("abnormal", {}).get("sensitivity")

    @property
    def specificity(self):
        return self.metrics.get("abnormal", {}).get("specificity")

    @property
    def referral_rate(self):
        return self.metrics.get("referral_rate")

    def evaluator_name(self):
        """Who answers for it: the named user, else the account that ran the command."""
        if self.evaluated_by_id:
            return display_name(self.evaluated_by)
        return f"{self.run_by} (shell account)" if self.run_by else "not recorded"


class CellReview(models.Model):
    """A doctor's verdict on one classified cell: the model's class accepted, or another given.

    Overrides are labelled data for retraining, so a review is never deleted; before
    sign-off a doctor may change it (django-auditlog keeps the earlier verdicts).
    """

    result = models.OneToOneField(CellResult, on_delete=models.PROTECT, related_name="review")
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    reviewed_class = models.CharField(max_length=100, help_text="The class the reviewer assigned.")
    accepted = models.BooleanField(help_text="The reviewer agreed with the model's class.")
    reviewed_at = models.DateTimeField(default=timezone.now)
    note = free_text(blank=True, help_text="What the reviewer saw in this cell, in their words.")

    class Meta:
        ordering = ["reviewed_at", "pk"]

    def __str__(self):
        verdict = "accepted" if self.accepted else f"overridden to {self.reviewed_class}"
        return f"{self.result.image} · {verdict}"


class SignOffQuerySet(models.QuerySet):
    def newest_first(self):
        """The sign-off versions, newest first, each with the user who signed it."""
        return self.select_related("signed_by").order_by("-version")


def sign_offs_of(specimen):
    """``specimen.sign_offs.newest_first()`` as a list, its SQL compiled once (the specimen,
    review and report pages each read it)."""
    sign_offs = _SIGN_OFFS_NEWEST_FIRST(specimen.pk)
    for sign_off in sign_offs:
        sign_off.specimen = specimen
    return sign_offs


_SIGN_OFFS_NEWEST_FIRST = CompiledQuery(
    lambda key: SpecimenSignOff.objects.filter(specimen=key).newest_first(), -1)


class SignedVersionImmutable(Exception):
    """A signed report version was about to be changed; amendments add a version instead."""


class SpecimenSignOff(BethesdaFindings):
    """One signed version of a specimen's Bethesda report. Amendments add a version; none is
    edited: save() refuses an existing version, and `report_text` keeps the exact text the
    signer signed (with its sha256), so any version can be shown again as it was."""

    Interpretation = Interpretation  # the Bethesda interpretations (diagnostics.bethesda)

    specimen = models.ForeignKey("imaging.Specimen", on_delete=models.PROTECT, related_name="sign_offs")
    version = models.PositiveIntegerField(default=1)
    comment = free_text(blank=True)
    recommendations = ChoiceListField("recommendations", choices_class=Recommendation)
    recommendation_note = free_text(verbose_name="recommendations (free text)", blank=True)
    educational_note = free_text(verbose_name="educational note", blank=True)
    signed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    signer_credentials = models.CharField(
        max_length=300, blank=True, editable=False,
        help_text="The signer's name and role as printed on this version.")
    signed_at = models.DateTimeField(default=timezone.now, editable=False)
    amendment_reason = free_text(blank=True, help_text="Why an earlier version was amended.")
    # The computer-assisted section, as it stood when this version was signed.
    ai_used = models.BooleanField("computer-assisted", default=False, editable=False)
    ai_model_versions = models.JSONField(default=list, blank=True, editable=False)
    cells_analysed = models.PositiveIntegerField(null=True, blank=True, editable=False)
    cells_flagged = models.PositiveIntegerField(
        null=True, blank=True, editable=False,
        help_text="Cells the model put in an abnormal morphology class.")
    cells_referred = models.PositiveIntegerField(
        null=True, blank=True, editable=False,
        help_text="Cells the model flagged “refer to cytologist” (low confidence).")
    morphology_counts = models.JSONField(
        default=dict, blank=True, editable=False,
        help_text="Model version → {morphology class: cells}; SIPaKMeD classes, not Bethesda.")
    # Empty on versions signed before the Bethesda model was served: they print as signed.
    bethesda_counts = models.JSONField(
        default=dict, blank=True, editable=False,
        help_text="Bethesda model version → {Bethesda category: cells}.")
    cells_flagged_bethesda = models.PositiveIntegerField(
        null=True, blank=True, editable=False,
        help_text="Cells the Bethesda model put in a category other than NILM.")
    bethesda_cell_images = models.PositiveIntegerField(
        null=True, blank=True, editable=False,
        help_text="Of the cells with a Bethesda category, those uploaded as cell images, "
                  "not found in a field of view or slide: outside the material the Bethesda "
                  "model was validated on.")
    most_suspicious_cells = models.JSONField(default=list, blank=True, editable=False)
    codes = models.JSONField(
        default=dict, blank=True, editable=False,
        help_text="LOINC of the report and SNOMED CT of each value, as signed.")
    report_text = models.TextField(blank=True, editable=False,
                                   help_text="The exact text of this version as signed.")
    report_sha256 = models.CharField(max_length=64, blank=True, editable=False)

    objects = SignOffQuerySet.as_manager()

    class Meta:
        ordering = ["specimen", "-version"]
        permissions = [("sign_off_specimen", "Can review cells and sign off a specimen")]
        constraints = [
            models.UniqueConstraint(fields=["specimen", "version"], name="one_sign_off_per_version"),
            models.CheckConstraint(
                condition=models.Q(version=1) | ~models.Q(amendment_reason=""),
                name="amendments_give_a_reason",
            ),
        ]

    def __str__(self):
        return f"{self.specimen} · v{self.version} · {self.headline()}"

    def headline(self):
        """The result in one line: the interpretation, else the adequacy (unsatisfactory)."""
        if self.interpretation:
            return self.get_interpretation_display()
        return self.get_adequacy_display() or "Not recorded"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise SignedVersionImmutable(
                f"Version {self.version} of {self.specimen_id}'s report is signed and cannot "
                f"change; amend it instead (a new version).")
        if self.report_text and not self.report_sha256:
            self.report_sha256 = text_sha256(self.report_text)
        super().save(*args, **kwargs)
        # Signed off: off its doctors' worklists (a derived flag, kept out of the audit trail).
        Specimen = self._meta.get_field("specimen").related_model  # no query for the specimen
        Specimen.objects.filter(pk=self.specimen_id).update(awaiting_sign_off=False)

    @property
    def is_amendment(self):
        return self.version > 1

    @property
    def report_text_intact(self):
        """Whether the stored text still matches the sha256 taken at signing."""
        return bool(self.report_text) and text_sha256(self.report_text) == self.report_sha256

    def signer_name(self):
        """The signer as printed: name and role as signed, else (migrated versions) the name."""
        return self.signer_credentials or display_name(self.signed_by)

    def recommendation_labels(self):
        return labels(Recommendation, self.recommendations)

    def interpretation_code(self):
        return snomed_code("interpretation", self.interpretation)

    def adequacy_code(self):
        return snomed_code("adequacy", self.adequacy)


def text_sha256(text):
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class SpecimenReopening(models.Model):
    """A signed-off specimen opened again for new images or reviews, with the reason.

    Sign-off closes a specimen: nothing it did not see may be added. Re-opening names the
    sign-off version it opens; the next sign-off is then an amendment giving this reason.
    """

    specimen = models.ForeignKey("imaging.Specimen", on_delete=models.PROTECT, related_name="reopenings")
    reopened_version = models.PositiveIntegerField(help_text="The sign-off version re-opened.")
    reopened_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    reason = free_text(help_text="Why the signed-off specimen takes new material.")
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["specimen", "-reopened_version"]
        constraints = [models.UniqueConstraint(fields=["specimen", "reopened_version"],
                                               name="one_reopening_per_sign_off")]

    def __str__(self):
        return f"{self.specimen} · v{self.reopened_version} re-opened"
