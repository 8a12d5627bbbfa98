"""The cytology case: the lab that screens it, the requisition it came with, its place in the
screening queue and what each tier found."""
from django.conf import settings
from django.db import models

from accounts.roles import CLINICIAN
from diagnostics.bethesda import BethesdaFindings, HpvResult, SpecimenType


class Lab(models.Model):
    """A laboratory with its own screening queue; its members see its cases and no other's."""

    name = models.CharField(max_length=200, unique=True)
    address = models.TextField(blank=True)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="labs", blank=True)
    consent_required_for_screening = models.BooleanField(
        default=True, help_text="Refuse images of patients whose consent is not given.")
    cytotechnologist_may_release_nilm = models.BooleanField(
        "cytotechnologists may release NILM", default=True,
        help_text="A case a cytotechnologist calls NILM, with no cell the AI flags as "
                  "abnormal, may be signed out by them; off: every case goes to a pathologist.")

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class Requisition(models.Model):
    """What the ordering clinician sent with the specimen."""

    SpecimenType = SpecimenType  # the Bethesda vocabulary (diagnostics.bethesda)
    HpvResult = HpvResult

    class RiskFlag(models.TextChoices):
        IMMUNOSUPPRESSED = "immunosuppressed", "Immunosuppressed"
        HIV = "hiv", "HIV positive"
        DES_EXPOSURE = "des_exposure", "DES exposure in utero"
        IUD = "iud", "Intrauterine device"
        ABNORMAL_BLEEDING = "abnormal_bleeding", "Abnormal bleeding"
        VISIBLE_LESION = "visible_lesion", "Visible lesion"

    specimen = models.OneToOneField("imaging.Specimen", on_delete=models.CASCADE,
                                    related_name="requisition")
    ordering_clinician = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="requisitions",
        limit_choices_to={"groups__name": CLINICIAN, "is_active": True})
    specimen_type = models.CharField(max_length=20, choices=SpecimenType.choices)
    last_menstrual_period = models.DateField(null=True, blank=True)
    previous_abnormal_result = models.BooleanField(default=False)
    hpv_result = models.CharField("HPV result", max_length=20, choices=HpvResult.choices,
                                  default=HpvResult.NOT_DONE)
    post_menopausal = models.BooleanField("post-menopausal", default=False)
    pregnant = models.BooleanField(default=False)
    hysterectomy = models.BooleanField(default=False)
    other_risk_flags = models.JSONField(
        default=list, blank=True, help_text="Other high-risk flags: RiskFlag values.")

    def __str__(self):
        return f"Requisition for {self.specimen_id}"

    def clinical_history(self):
        """The clinical history as short phrases: the flags set, then the other risk flags."""
        flags = ["previous_abnormal_result", "post_menopausal", "pregnant", "hysterectomy"]
        labels = dict(self.RiskFlag.choices)
        return ([self._meta.get_field(name).verbose_name for name in flags if getattr(self, name)]
                + [labels.get(flag, flag) for flag in self.other_risk_flags])


class Case(models.Model):
    """One specimen's way through the lab: screening queue, screener, pathologist, signed out."""

    class Stage(models.TextChoices):
        AWAITING_SCREENING = "awaiting_screening", "Awaiting screening"
        IN_SCREENING = "in_screening", "In screening"
        AWAITING_PATHOLOGIST = "awaiting_pathologist", "Awaiting pathologist"
        WITH_PATHOLOGIST = "with_pathologist", "With pathologist"
        SIGNED_OUT = "signed_out", "Signed out"

    specimen = models.OneToOneField("imaging.Specimen", on_delete=models.CASCADE,
                                    related_name="case")
    lab = models.ForeignKey(Lab, on_delete=models.PROTECT, related_name="cases")
    stage = models.CharField(max_length=24, choices=Stage.choices,
                             default=Stage.AWAITING_SCREENING)
    screener = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                 on_delete=models.PROTECT, related_name="screened_cases")
    claimed_at = models.DateTimeField(null=True, blank=True)
    pathologist = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="+")
    released_by_screener = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        permissions = [("screen_case", "Can screen the lab's cases (screening queue)"),
                       ("assign_case", "Can assign the lab's cases to a screener")]
        # The queues read one stage of one lab's cases.
        indexes = [models.Index(fields=["lab", "stage"], name="case_lab_stage")]

    def __str__(self):
        return f"Case {self.specimen_id} ({self.get_stage_display()})"

    @property
    def screening_started(self):
        return self.screener_id is not None or self.stage != self.Stage.AWAITING_SCREENING


class ScreeningFindings(BethesdaFindings):
    """The cytotechnologist's findings in Bethesda terms (the interpretation provisional):
    what the pathologist starts from, and what a Disagreement compares."""

    case = models.OneToOneField(Case, on_delete=models.CASCADE, related_name="findings")
    screener = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                 related_name="+")
    comment = models.TextField("screener's comment", max_length=2000, blank=True)
    screened_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "screening findings"

    def __str__(self):
        return f"Screening of {self.case}"


class HandOver(models.Model):
    """A claim, assignment or hand-over of a case: who had it, who has it now, at which stage."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="hand_overs")
    stage = models.CharField(max_length=24, choices=Case.Stage.choices,
                             help_text="The case's stage after the hand-over.")
    from_user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                  on_delete=models.PROTECT, related_name="+")
    to_user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                on_delete=models.PROTECT, related_name="+")
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(auto_now_add=True)
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["at", "pk"]

    def __str__(self):
        return f"{self.case}: {self.from_user} → {self.to_user} by {self.by}"


class Correction(models.Model):
    """A corrected field of a requisition, patient or specimen (or a deleted upload): the
    value it had, the value it has, and why."""

    patient = models.ForeignKey("patients.Patient", on_delete=models.CASCADE,
                                related_name="corrections",
                                help_text="Whose record was corrected (a GDPR erasure takes these).")
    model_name = models.CharField(max_length=60)
    object_id = models.CharField(max_length=40)
    field = models.CharField(max_length=60)
    old_value = models.TextField(blank=True)
    new_value = models.TextField(blank=True)
    reason = models.CharField(max_length=500)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-at", "-pk"]
        constraints = [models.CheckConstraint(condition=~models.Q(reason=""),
                                              name="corrections_give_a_reason")]

    def __str__(self):
        return f"{self.model_name} {self.object_id}.{self.field} corrected by {self.by}"


class Disagreement(models.Model):
    """A two-tier case where the pathologist signed out another interpretation than the
    screener's provisional one (for the quality statistics)."""

    case = models.OneToOneField(Case, on_delete=models.CASCADE, related_name="disagreement")
    screener = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                 related_name="+")
    screener_interpretation = models.CharField(max_length=40)
    pathologist = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                    related_name="+")
    pathologist_interpretation = models.CharField(max_length=40)
    recorded_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return (f"{self.case}: screener {self.screener_interpretation}, "
                f"pathologist {self.pathologist_interpretation}")
