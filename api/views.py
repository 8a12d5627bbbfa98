"""The REST API: the pages' access rules, forms and services, answering in JSON.

Every object is loaded through accounts/access.py (a record the user may not see is a
404), role permissions are checked by api.permissions.RolePermission (403), and input
goes through the same forms and service functions as the pages.
"""
from collections.abc import Mapping

from django.contrib.auth import logout
from django.forms import MultipleChoiceField
from drf_spectacular.utils import OpenApiResponse, extend_schema
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework import generics, status
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from accounts.access import (
    get_image_for_user, get_patient_for_user, get_result_for_user, get_specimen_for_user,
    get_specimen_material_for_user, patients_visible_to, specimens_visible_to,
)
from accounts.audit import log_patient_list_read, log_patient_read
from api import serializers
from api.authentication import issue_token
from api.fields import StrictPrimaryKeyRelatedField
from api.throttles import CountRefusedRequests, LoginThrottle, UploadThrottle
from cases.accessioning import accession
from cases.forms import RequisitionForm
from cases.models import Requisition
from diagnostics import review
from diagnostics.forms import AmendmentForm, CellReviewForm, ReopeningForm, SignOffForm
from diagnostics.models import CellResult, SpecimenSignOff
from imaging.forms import SpecimenForm
from imaging.models import ImageAsset, Specimen
from imaging.uploads import store_upload
from patients.forms import PatientForm
from patients.models import Patient

DEFAULT_THROTTLES = list(api_settings.DEFAULT_THROTTLE_CLASSES)
REFUSED = OpenApiResponse(description="Refused: the message says why and what to do.")


class Conflict(APIException):
    """The review or sign-off cannot be recorded in the specimen's present state."""

    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"


def form_errors(form):
    """A bound form's errors as DRF's validation error body: {field: [message, ...]}."""
    return {field: [error["message"] for error in errors]
            for field, errors in form.errors.get_json_data().items()}


JSON_KINDS = {list: "an array", str: "a string", int: "a number", float: "a number",
              bool: "true or false", type(None): "null"}


def request_fields(request, list_fields=()):
    """The request's fields. A JSON body that is not an object, or a field whose value is an
    object or an array (but for `list_fields`, which take an array), is refused (400) before a
    form, which expects single values, would fail on it."""
    if not isinstance(request.data, Mapping):
        kind = JSON_KINDS.get(type(request.data), "not an object")
        raise ValidationError({api_settings.NON_FIELD_ERRORS_KEY: [
            f"The request body is {kind}; send the fields as a JSON object, "
            f"e.g. {{\"field\": value}}."]})
    nested = {name: ["Send a single value (a string, number or true/false), not "
                     f"{'an object' if isinstance(value, Mapping) else 'an array'}."]
              for name, value in request.data.items() if isinstance(value, (Mapping, list))
              and not (name in list_fields and isinstance(value, list))}
    if nested:
        raise ValidationError(nested)
    return request.data


def valid_form(form):
    if not form.is_valid():
        raise ValidationError(form_errors(form))
    return form


def save_new(form, user, **fields):
    """Save a valid form's new record with its creator and the fields the form does not hold."""
    record = valid_form(form).save(commit=False)
    for name, value in {**fields, "created_by": user}.items():
        setattr(record, name, value)
    record.save()
    return record


def record_or_conflict(record, *args, **kwargs):
    """Call a diagnostics.review service; a refusal (the specimen's state) is a 409."""
    try:
        return record(*args, **kwargs)
    except review.ReviewRefused as refusal:
        raise Conflict(str(refusal)) from None


def record_for_specimen(request, specimen_id, form_class, record):
    """Validate the form and record a sign-off or amendment of a specimen the user may see,
    as diagnostics.views.record_sign_off does for the pages."""
    specimen = get_specimen_for_user(request.user, specimen_id)
    if getattr(form_class, "takes_specimen", False):  # the Bethesda report forms
        list_fields = [name for name, field in form_class.base_fields.items()
                       if isinstance(field, MultipleChoiceField)]
        form = form_class(request_fields(request, list_fields), specimen=specimen)
    else:
        form = form_class(request_fields(request))
    form = valid_form(form)
    return record_or_conflict(record, specimen, request.user, **form.cleaned_data)


def for_schema_only(view):
    """True while drf-spectacular inspects the view, with no real user to filter by."""
    return getattr(view, "swagger_fake_view", False)


class TokenObtain(ObtainAuthToken):
    """Exchange a username and password for the user's API token.

    Failed attempts count towards the same lockout as the login page (django-axes); a
    locked account gets 429 and says so, as the login page does, even with the right
    password.
    """

    authentication_classes = []
    permission_classes = []
    throttle_classes = [LoginThrottle]

    def post(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        try:
            serializer.is_valid(raise_exception=True)
        except ValidationError:
            if getattr(request, "axes_locked_out", False):  # set by axes' backend
                return Response({"detail": ACCOUNT_LOCKED},
                                status=status.HTTP_429_TOO_MANY_REQUESTS)
            raise
        # The token the user holds while it lasts, else a new one (api/authentication.py).
        return Response({"token": issue_token(serializer.validated_data["user"]).key})


ACCOUNT_LOCKED = ("This account is locked after too many failed login attempts. Try again "
                  "later, or ask an administrator to unlock it.")


class TokenLogout(CountRefusedRequests, APIView):
    """Sign out: revoke your API token (and end the pages' session sent with the request)."""

    @extend_schema(request=None, responses={204: None})
    def post(self, request):
        logout(request._request)  # user_logged_out revokes the tokens (accounts/api_tokens.py)
        return Response(status=status.HTTP_204_NO_CONTENT)


class LogsListedReads:
    """A list endpoint whose page of patients or specimens is a read of each (as the pages'
    lists are)."""

    def paginate_queryset(self, queryset):
        page = super().paginate_queryset(queryset)
        log_patient_list_read(self.request, queryset if page is None else page)
        return page


class PatientList(CountRefusedRequests, LogsListedReads, generics.ListCreateAPIView):
    """Patients you may see; lab staff and administrators add them."""

    serializer_class = serializers.PatientSerializer
    required_permissions = {"POST": "patients.add_patient"}

    def get_queryset(self):
        if for_schema_only(self):
            return Patient.objects.none()
        return patients_visible_to(self.request.user)

    def create(self, request, *args, **kwargs):
        patient = save_new(PatientForm(request_fields(request)), request.user)
        return Response(self.get_serializer(patient).data, status=status.HTTP_201_CREATED)


class PatientDetail(CountRefusedRequests, generics.RetrieveAPIView):
    serializer_class = serializers.PatientSerializer

    def get_object(self):
        patient = get_patient_for_user(self.request.user, self.kwargs["patient_id"])
        log_patient_read(self.request, patient)
        return patient


class SpecimenList(CountRefusedRequests, LogsListedReads, generics.ListCreateAPIView):
    """Specimens of the patients you may see; lab staff add them."""

    serializer_class = serializers.SpecimenSerializer
    required_permissions = {"POST": "imaging.add_specimen"}

    def get_queryset(self):
        if for_schema_only(self):
            return Specimen.objects.none()
        return specimens_visible_to(self.request.user)

    @extend_schema(request=serializers.AccessionRequestSerializer,
                   responses={201: serializers.AccessionedSpecimenSerializer, 400: REFUSED},
                   description="Accession a specimen with its requisition, as the specimen page "
                               "does: the case enters the lab's screening queue at once.")
    def post(self, request, *args, **kwargs):
        return self.create(request, *args, **kwargs)

    def create(self, request, *args, **kwargs):
        fields = request_fields(request, list_fields=["other_risk_flags"]).copy()
        fields.setdefault("hpv_result", Requisition.HpvResult.NOT_DONE)  # the page's initial
        patient = self.visible_patient(fields.get("patient"))
        specimen_form = SpecimenForm(fields)
        requisition_form = RequisitionForm(fields, user=request.user)
        if not (specimen_form.is_valid() & requisition_form.is_valid()):  # both, for all errors
            raise ValidationError({**form_errors(specimen_form),
                                   **requisition_errors(requisition_form, fields, request.user)})
        specimen = specimen_form.save(commit=False)
        specimen.patient = patient
        accession(specimen, requisition_form.save(commit=False),
                  requisition_form.cleaned_data["lab"], request.user)
        return Response(serializers.AccessionedSpecimenSerializer(specimen).data,
                        status=status.HTTP_201_CREATED)

    def visible_patient(self, patient_id):
        field = StrictPrimaryKeyRelatedField(queryset=patients_visible_to(self.request.user))
        try:
            return field.run_validation(patient_id)
        except ValidationError:
            raise ValidationError({"patient": [
                f"No patient with id {patient_id!r} is open to you; give the id (a whole "
                f"number) of a patient from /api/patients/."]}) from None


def requisition_errors(form, fields, user):
    """The requisition form's errors, a missing or unknown lab or clinician said in the API's
    terms (ids, not the page's choices)."""
    errors = form_errors(form)
    if "lab" in form.errors:
        labs = ", ".join(f"{lab.pk} ({lab.name})" for lab in user.labs.order_by("pk"))
        unknown = f"No lab with id {fields.get('lab')!r} is yours"
        errors["lab"] = [
            f"{given_or(fields, 'lab', unknown)}id of one of your labs: {labs}." if labs else
            "You belong to no lab, so no case can be opened; ask an administrator to add you "
            "to your lab."]
    if "ordering_clinician" in form.errors:
        unknown = f"No active clinician has the user id {fields.get('ordering_clinician')!r}"
        errors["ordering_clinician"] = [
            f"{given_or(fields, 'ordering_clinician', unknown)}user id of the ordering "
            f"clinician (an active user with the Clinician role)."]
    return errors


def given_or(fields, name, unknown):
    """How a message about a missing or unknown id starts, up to "give the "."""
    return "Give the " if fields.get(name) in (None, "") else f"{unknown}; give the "


class SpecimenDetail(CountRefusedRequests, generics.RetrieveAPIView):
    serializer_class = serializers.SpecimenSerializer

    def get_object(self):
        specimen = get_specimen_for_user(self.request.user, self.kwargs["specimen_id"])
        log_patient_read(self.request, specimen)
        return specimen


class SpecimenImages(CountRefusedRequests, generics.ListAPIView):
    """A specimen's images; lab staff upload more (multipart, field ``files``)."""

    serializer_class = serializers.ImageSerializer
    required_permissions = {"POST": "imaging.add_imageasset"}
    throttle_classes = [*DEFAULT_THROTTLES, UploadThrottle]

    def get_queryset(self):
        if for_schema_only(self):
            return ImageAsset.objects.none()
        specimen = get_specimen_material_for_user(self.request.user, self.kwargs["specimen_id"])
        log_patient_read(self.request, specimen)
        return specimen.images.select_related("source_field").order_by("uploaded_at", "pk")

    @extend_schema(
        request={"multipart/form-data": serializers.UploadRequestSerializer},
        responses={201: serializers.UploadReportSerializer, 409: REFUSED},
        description="Store the uploaded files with the pages' upload service: each file is "
                    "checked on its own; the report says which were stored, which were already "
                    "in the specimen and why others were rejected.",
    )
    def post(self, request, specimen_id):
        specimen = get_specimen_for_user(request.user, specimen_id)
        upload = serializers.UploadRequestSerializer(data=request.data)
        upload.is_valid(raise_exception=True)
        batch = record_or_conflict(store_upload, specimen, request.user,
                                   upload.validated_data["files"],
                                   content=upload.validated_data["content"])
        report = serializers.UploadReportSerializer(batch, context=self.get_serializer_context())
        return Response(report.data, status=status.HTTP_201_CREATED)


class ImageDetail(CountRefusedRequests, generics.RetrieveAPIView):
    serializer_class = serializers.ImageSerializer

    def get_object(self):
        image = get_image_for_user(self.request.user, self.kwargs["image_id"])
        log_patient_read(self.request, image)
        return image


class SpecimenResults(CountRefusedRequests, generics.ListAPIView):
    """Classification results of a specimen's images, with any review."""

    serializer_class = serializers.ResultSerializer

    def get_queryset(self):
        if for_schema_only(self):
            return CellResult.objects.none()
        specimen = get_specimen_material_for_user(self.request.user, self.kwargs["specimen_id"])
        log_patient_read(self.request, specimen)
        return (CellResult.objects.filter(image__specimen=specimen)
                .select_related("review__reviewer").order_by("image__uploaded_at", "pk"))


class ResultDetail(CountRefusedRequests, generics.RetrieveAPIView):
    serializer_class = serializers.ResultSerializer

    def get_object(self):
        result = get_result_for_user(self.request.user, self.kwargs["result_id"])
        log_patient_read(self.request, result)
        return result


class CellReviewCreate(CountRefusedRequests, APIView):
    """Accept the model's class for a classified cell, or override it, with a note
    (pathologists and cytotechnologists, as on the review page)."""

    required_permissions = {"POST": review.may_review_cells}

    @extend_schema(request=serializers.CellReviewRequestSerializer,
                   responses={200: serializers.CellReviewSerializer, 409: REFUSED})
    def post(self, request, result_id):
        result = get_result_for_user(request.user, result_id)
        if result.status != CellResult.Status.DONE:  # like the page: only classified cells
            raise ValidationError({"result": ["This cell is not classified yet; review it once "
                                              "its status is done."]})
        form = valid_form(CellReviewForm(result, request_fields(request)))
        cell_review = record_or_conflict(review.review_cell, result, request.user,
                                         form.cleaned_data["reviewed_class"], form.note_or_none())
        return Response(serializers.CellReviewSerializer(cell_review).data)


class SpecimenSignOffs(CountRefusedRequests, generics.ListAPIView):
    """A specimen's signed Bethesda report versions, newest first, each with its codes and
    exact text; doctors sign off (POST)."""

    serializer_class = serializers.SignOffSerializer
    required_permissions = {"POST": review.SIGN_OFF_PERMISSION}

    def get_queryset(self):
        if for_schema_only(self):
            return SpecimenSignOff.objects.none()
        specimen = get_specimen_for_user(self.request.user, self.kwargs["specimen_id"])
        log_patient_read(self.request, specimen)
        return specimen.sign_offs.newest_first()

    @extend_schema(request=serializers.SignOffRequestSerializer,
                   responses={201: serializers.SignOffSerializer, 409: REFUSED},
                   description="First sign-off, once every flagged cell is reviewed.")
    def post(self, request, specimen_id):
        signed = record_for_specimen(request, specimen_id, SignOffForm, review.sign_off_specimen)
        return Response(self.get_serializer(signed).data, status=status.HTTP_201_CREATED)


class SpecimenAmendment(CountRefusedRequests, APIView):
    """Amend a signed-off specimen: a new sign-off version, with a reason (doctors)."""

    required_permissions = {"POST": review.SIGN_OFF_PERMISSION}

    @extend_schema(request=serializers.AmendmentRequestSerializer,
                   responses={201: serializers.SignOffSerializer, 409: REFUSED})
    def post(self, request, specimen_id):
        amended = record_for_specimen(request, specimen_id, AmendmentForm, review.amend_sign_off)
        return Response(serializers.SignOffSerializer(amended).data, status=status.HTTP_201_CREATED)


class SpecimenReopenings(CountRefusedRequests, APIView):
    """Re-open a signed-off specimen for new images and reviews, with a reason (doctors);
    its next sign-off is an amendment giving that reason."""

    required_permissions = {"POST": review.SIGN_OFF_PERMISSION}

    @extend_schema(request=serializers.ReopeningSerializer,
                   responses={201: serializers.ReopeningSerializer, 409: REFUSED})
    def post(self, request, specimen_id):
        reopening = record_for_specimen(request, specimen_id, ReopeningForm, review.reopen_specimen)
        return Response(serializers.ReopeningSerializer(reopening).data,
                        status=status.HTTP_201_CREATED)


class Schema(CountRefusedRequests, SpectacularAPIView):
    """The OpenAPI document of this API (signed-in users)."""


class Docs(CountRefusedRequests, SpectacularSwaggerSplitView):
    """Swagger UI, its assets served from static/ (drf-spectacular-sidecar)."""
