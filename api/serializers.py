"""JSON shapes of the REST API. Input is checked by the pages' own forms (see views.py)."""
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from cases.models import Case, Requisition
from diagnostics import bethesda
from diagnostics.bethesda import BETHESDA_FIELDS
from diagnostics.models import (
    FREE_TEXT_MAX_LENGTH, CellResult, CellReview, SpecimenReopening, SpecimenSignOff,
)
from imaging.fields import AUTO, CONTENT_CHOICES
from imaging.models import ImageAsset, Specimen, UploadBatch
from patients.models import Patient


def absolute_url(serializer, url):
    request = serializer.context.get("request")
    return request.build_absolute_uri(url) if request else url


class PatientSerializer(serializers.ModelSerializer):
    class Meta:
        model = Patient
        fields = ["id", "mrn", "full_name", "date_of_birth", "consent_given", "created_at",
                  "updated_at"]
        read_only_fields = ["created_at", "updated_at"]


class SpecimenSerializer(serializers.ModelSerializer):
    patient = serializers.IntegerField(source="patient_id", help_text="Id of a patient you can see.")

    class Meta:
        model = Specimen
        fields = ["id", "patient", "accession_number", "collected_on", "created_at",
                  "triage_score"]
        read_only_fields = ["created_at", "triage_score"]


class RequisitionSerializer(serializers.ModelSerializer):
    ordering_clinician = serializers.IntegerField(source="ordering_clinician_id", read_only=True)
    ordering_clinician_name = serializers.SerializerMethodField()

    class Meta:
        model = Requisition
        fields = ["ordering_clinician", "ordering_clinician_name", "specimen_type",
                  "last_menstrual_period", "previous_abnormal_result", "hpv_result",
                  "post_menopausal", "pregnant", "hysterectomy", "other_risk_flags"]
        read_only_fields = fields

    def get_ordering_clinician_name(self, requisition) -> str:
        clinician = requisition.ordering_clinician
        return clinician.get_full_name() or clinician.username


class CaseSerializer(serializers.ModelSerializer):
    lab_name = serializers.CharField(source="lab.name", read_only=True)

    class Meta:
        model = Case
        fields = ["id", "lab", "lab_name", "stage"]
        read_only_fields = fields


class AccessionedSpecimenSerializer(SpecimenSerializer):
    """A specimen just accessioned: its requisition and the case opened in the lab's queue."""

    requisition = RequisitionSerializer(read_only=True)
    case = CaseSerializer(read_only=True)

    class Meta(SpecimenSerializer.Meta):
        fields = [*SpecimenSerializer.Meta.fields, "requisition", "case"]


class AccessionRequestSerializer(serializers.Serializer):
    """A specimen and its requisition (the schema; the accessioning page's forms validate)."""

    patient = serializers.IntegerField(help_text="Id of a patient you can see.")
    accession_number = serializers.CharField(max_length=Specimen._meta.get_field(
        "accession_number").max_length)
    collected_on = serializers.DateField(help_text="The collection date; not in the future.")
    lab = serializers.IntegerField(
        help_text="Id of one of your labs: the case enters its screening queue.")
    ordering_clinician = serializers.IntegerField(
        help_text="User id of the ordering clinician (an active user with the Clinician role); "
                  "they may then read this patient's record.")
    specimen_type = serializers.ChoiceField(choices=bethesda.SpecimenType.choices)
    last_menstrual_period = serializers.DateField(required=False, allow_null=True,
                                                  help_text="Not in the future.")
    previous_abnormal_result = serializers.BooleanField(required=False, default=False)
    hpv_result = serializers.ChoiceField(choices=bethesda.HpvResult.choices, required=False,
                                         help_text="Not done when left out.")
    post_menopausal = serializers.BooleanField(required=False, default=False)
    pregnant = serializers.BooleanField(required=False, default=False)
    hysterectomy = serializers.BooleanField(required=False, default=False)
    other_risk_flags = serializers.ListField(
        child=serializers.ChoiceField(choices=Requisition.RiskFlag.choices), required=False,
        help_text="Other high-risk flags.")


class ImageSerializer(serializers.ModelSerializer):
    file_url = serializers.SerializerMethodField()

    class Meta:
        model = ImageAsset
        fields = ["id", "specimen", "original_name", "image_format", "width", "height",
                  "size_bytes", "sha256", "uploaded_at", "upload_batch", "file_url", "kind",
                  "source_image", "field_x", "field_y", "nucleus_radius", "detection_score"]
        read_only_fields = fields

    source_image = serializers.IntegerField(
        source="source_field.image_id", allow_null=True, default=None, read_only=True,
        help_text="For a cell the worker cut from a field of view or a whole slide: that "
                  "image's id (field_x, field_y are the cell's place in its pixels).")

    @extend_schema_field(OpenApiTypes.URI)
    def get_file_url(self, image):
        return absolute_url(self, reverse("imaging:image_file", args=[image.pk]))


class CellReviewSerializer(serializers.ModelSerializer):
    reviewer = serializers.CharField(source="reviewer.username", read_only=True)

    class Meta:
        model = CellReview
        fields = ["result", "reviewed_class", "accepted", "note", "reviewer", "reviewed_at"]
        read_only_fields = fields


class CellReviewRequestSerializer(serializers.Serializer):
    reviewed_class = serializers.CharField(
        help_text="One of the result's classes: the predicted one to accept it, another to "
                  "override it.")
    note = serializers.CharField(
        required=False, allow_blank=True, max_length=2000,
        help_text="The reviewer's note on the cell; left out, the cell keeps its note.")


class ResultSerializer(serializers.ModelSerializer):
    confidence = serializers.FloatField(read_only=True, allow_null=True)
    review = CellReviewSerializer(read_only=True, allow_null=True)
    heatmap_url = serializers.SerializerMethodField()

    class Meta:
        model = CellResult
        fields = ["id", "image", "model_version", "status", "predicted_class", "probabilities",
                  "confidence", "refer_to_cytologist", "bethesda_model_version",
                  "bethesda_category", "bethesda_probabilities", "error", "review",
                  "heatmap_url", "seconds_taken", "queued_at", "started_at", "finished_at"]
        read_only_fields = fields

    @extend_schema_field(serializers.URLField(allow_null=True))  # null until a Grad-CAM is made
    def get_heatmap_url(self, result):
        if not result.heatmap:
            return None
        return absolute_url(self, reverse("imaging:heatmap_file", args=[result.image_id, result.pk]))


class SignOffSerializer(serializers.ModelSerializer):
    """One signed Bethesda report version, its codes and exact text as signed."""

    signed_by = serializers.CharField(source="signed_by.username", read_only=True)
    interpretation_snomed = serializers.CharField(source="interpretation_code", read_only=True)
    adequacy_snomed = serializers.CharField(source="adequacy_code", read_only=True)

    class Meta:
        model = SpecimenSignOff
        fields = ["id", "specimen", "version", *BETHESDA_FIELDS, "interpretation_snomed",
                  "adequacy_snomed", "recommendations", "recommendation_note",
                  "educational_note", "comment", "amendment_reason", "signed_by",
                  "signer_credentials", "signed_at", "ai_used", "ai_model_versions",
                  "cells_analysed", "cells_flagged", "cells_referred", "morphology_counts",
                  "bethesda_counts", "cells_flagged_bethesda", "bethesda_cell_images",
                  "most_suspicious_cells", "codes", "report_text", "report_sha256"]
        read_only_fields = fields


def choice_list(choices_class, help_text):
    return serializers.ListField(child=serializers.ChoiceField(choices=choices_class.choices),
                                 required=False, help_text=help_text)


class SignOffRequestSerializer(serializers.Serializer):
    """The Bethesda report to sign (the schema; the report form validates, rules included)."""

    specimen_type = serializers.ChoiceField(choices=bethesda.SpecimenType.choices, required=False)
    adequacy = serializers.ChoiceField(choices=bethesda.Adequacy.choices)
    transformation_zone = serializers.ChoiceField(
        choices=bethesda.TransformationZone.choices, required=False)
    quality_indicators = choice_list(bethesda.QualityIndicator, "Satisfactory specimens only.")
    unsatisfactory_kind = serializers.ChoiceField(
        choices=bethesda.UnsatisfactoryKind.choices, required=False)
    unsatisfactory_reason = serializers.ChoiceField(
        choices=bethesda.UnsatisfactoryReason.choices, required=False)
    general_category = serializers.ChoiceField(
        choices=bethesda.GeneralCategory.choices, required=False,
        help_text="Derived from the interpretation when left out.")
    interpretation = serializers.ChoiceField(
        choices=bethesda.CHOOSABLE_INTERPRETATIONS, required=False,
        help_text="Required for a satisfactory specimen; none for an unsatisfactory one.")
    organisms = choice_list(bethesda.Organism, "Under NILM only.")
    other_findings = choice_list(bethesda.NonNeoplasticFinding, "Under NILM only.")
    hpv_result = serializers.ChoiceField(choices=bethesda.HpvResult.choices, required=False)
    recommendations = choice_list(bethesda.Recommendation, "Standard suggestions.")
    recommendation_note = serializers.CharField(required=False, allow_blank=True,
                                                max_length=FREE_TEXT_MAX_LENGTH)
    educational_note = serializers.CharField(required=False, allow_blank=True,
                                             max_length=FREE_TEXT_MAX_LENGTH)
    comment = serializers.CharField(required=False, allow_blank=True, max_length=FREE_TEXT_MAX_LENGTH)


class AmendmentRequestSerializer(SignOffRequestSerializer):
    amendment_reason = serializers.CharField(help_text="Why the interpretation changes.",
                                             max_length=FREE_TEXT_MAX_LENGTH)


class ReopeningSerializer(serializers.ModelSerializer):
    reopened_by = serializers.CharField(source="reopened_by.username", read_only=True)

    class Meta:
        model = SpecimenReopening
        fields = ["id", "specimen", "reopened_version", "reason", "reopened_by", "at"]
        read_only_fields = ["id", "specimen", "reopened_version", "reopened_by", "at"]


class UploadRequestSerializer(serializers.Serializer):
    files = serializers.ListField(
        child=serializers.FileField(allow_empty_file=True, use_url=False), min_length=1,
        help_text="Images (BMP, PNG, JPEG, TIFF), .zip archives of them, or MP4/AVI videos; "
                  "send the field once per file.")
    content = serializers.ChoiceField(
        choices=[value for value, _ in CONTENT_CHOICES], default=AUTO,
        help_text="What the images are: 'cell' crops (each classified as one cell), 'field' "
                  "of view (the worker finds and classifies each cell), 'slide' (whole "
                  "slides), or 'auto' (by size, as the upload page's default).")


class FileOutcomeSerializer(serializers.Serializer):
    file = serializers.CharField()
    outcome = serializers.ChoiceField(choices=["stored", "duplicate", "rejected"])
    reason = serializers.CharField(allow_blank=True)
    image = serializers.IntegerField(allow_null=True, help_text="The stored image's id.")


class UploadReportSerializer(serializers.ModelSerializer):
    """What happened to each file of an upload (imaging.uploads.store_upload's UploadBatch)."""

    files = serializers.SerializerMethodField()

    class Meta:
        model = UploadBatch
        fields = ["id", "specimen", "created_at", "content", "stored_count", "duplicates",
                  "rejections", "files"]
        read_only_fields = fields

    @extend_schema_field(FileOutcomeSerializer(many=True))
    def get_files(self, batch):
        stored = [{"file": image.original_name, "outcome": "stored", "reason": "", "image": image.pk}
                  for image in batch.images.order_by("pk")]
        duplicates = [{"file": name, "outcome": "duplicate", "image": None,
                       "reason": "This image is already in the specimen; it was not stored again."}
                      for name in batch.duplicates]
        rejected = [{"file": rejection["file"], "outcome": "rejected", "image": None,
                     "reason": rejection["reason"]} for rejection in batch.rejections]
        return stored + duplicates + rejected
