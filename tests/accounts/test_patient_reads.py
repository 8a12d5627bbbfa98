"""Every view of patient data, page or API, leaves exactly one access entry in the audit log:
the user, the record, the time, the client address. Adding a route means saying here which
it is, so none is forgotten."""
import pytest
from auditlog.models import LogEntry
from django.contrib.auth.models import User
from django.core.files.base import ContentFile
from django.urls import URLResolver, get_resolver, reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from accounts.access import assign_doctor
from cases.models import Case
from diagnostics.models import CellReview, SpecimenSignOff
from imaging.models import FieldOfView, ImageAsset
from tests.conftest import PASSWORD

CLIENT = {"REMOTE_ADDR": "10.7.7.7"}

# Routes that show no record of one patient, or only change one (the change is audited).
NOT_PATIENT_READS = {
    "home": "redirects", "login": "sign-in", "logout": "sign-out",
    "two_factor_setup": "the user's own account",
    "patients:list": "a list of patients (one row each), not a patient's record",
    "patients:create": "a form for a new patient",
    "imaging:upload": "a write (audited as a change)",
    "imaging:progress": "counts of the specimen's classification, no patient data",
    # The zoomable viewer's fetches: opening its page (imaging:viewer) is the read logged;
    # they log one only when the user's read of the image is older than AUDIT_POLL_READ_MINUTES.
    "imaging:deep_zoom": "the viewer's descriptor, logged with its page (imaging:viewer)",
    "imaging:deep_zoom_tile": "the viewer's tiles, logged with its page (imaging:viewer)",
    "imaging:viewer_cells": "the viewer's cells, logged with its page (imaging:viewer)",
    "imaging:live_frame": "POST only: a camera frame's cells, its read logged once per live "
                          "session (tests/imaging/test_live_view.py)",
    "imaging:live_capture": "a write (POST only; an upload, audited as a change)",
    "diagnostics:worklist": "a list of specimens, not a record",
    "diagnostics:batches": "a list of the user's uploads",
    "diagnostics:batch_progress": "counts of one upload",
    "diagnostics:review_cell": "a write (audited as a change)",
    "diagnostics:sign_off": "a write (audited as a change)",
    "diagnostics:amend": "a write (audited as a change)",
    "diagnostics:reopen": "a write (audited as a change)",
    "diagnostics:dashboard": "totals over all patients",
    "api:token": "sign-in", "api:logout": "sign-out", "api:schema": "the API's description", "api:docs": "the API's docs",
    "api:patients": "a list of patients, not a record",
    "api:specimens": "a list of specimens, not a record",
    "api:amendments": "a write (POST only; audited as a change)",
    "api:reopenings": "a write (POST only; audited as a change)",
    "api:review": "a write (POST only; audited as a change)",
    "cases:queue": "a list of cases, not a record",
    "cases:mine": "a list of cases, not a record",
    "cases:pathologist_queue": "a list of cases, not a record",
    "cases:claim": "a write (POST only; audited as a change and a hand-over)",
    "cases:assign": "a write (POST only; audited as a change and a hand-over)",
    "cases:return": "a write (POST only; audited as a change and a hand-over)",
    "cases:delete_image": "a write (POST only; audited as a deletion and a correction)",
}


@pytest.fixture
def records(specimen, make_result, sample_cell_paths, doctor, lab):
    lab.members.add(doctor)
    case = Case.objects.create(specimen=specimen, lab=lab)
    result = make_result(specimen, {"Dyskeratotic": 0.9, "Parabasal": 0.1}, refer=True)
    image = result.image
    image.file.save(image.original_name, ContentFile(sample_cell_paths[0].read_bytes()))
    result.heatmap.save("overlay.png", ContentFile(sample_cell_paths[1].read_bytes()))
    review = CellReview.objects.create(result=result, reviewer=doctor,
                                       reviewed_class="Dyskeratotic", accepted=True)
    sign_off = SpecimenSignOff.objects.create(specimen=specimen, interpretation="see_comment",
                                              signed_by=doctor)
    field_image = ImageAsset.objects.create(
        specimen=specimen, file=f"specimens/{specimen.pk}/field.jpg", original_name="field.jpg",
        sha256="f" * 64, image_format="JPEG", width=1280, height=960, size_bytes=100,
        kind=ImageAsset.Kind.FIELD)
    field = FieldOfView.objects.create(image=field_image, status=FieldOfView.Status.DONE)
    return {"patient": specimen.patient, "specimen": specimen, "image": image, "result": result,
            "review": review, "sign_off": sign_off, "case": case, "field": field}


def patient_reads(records):
    """(route, its arguments, who opens it, the record its access entry names)."""
    patient, specimen = records["patient"], records["specimen"]
    image, result = records["image"], records["result"]
    return [
        ("patients:detail", [patient.pk], "doctor", patient),
        ("patients:access_log", [patient.pk], "administrator", patient),
        ("imaging:specimen_create", [patient.pk], "lab_staff", patient),
        ("imaging:specimen", [specimen.pk], "doctor", specimen),
        ("imaging:image_file", [image.pk], "doctor", image),
        ("imaging:thumbnail_file", [image.pk], "doctor", image),
        ("imaging:heatmap_file", [image.pk, result.pk], "doctor", result),
        ("imaging:field", [specimen.pk, records["field"].pk], "doctor", records["field"].image),
        ("imaging:viewer", [specimen.pk, records["field"].pk], "doctor", records["field"].image),
        ("imaging:live", [specimen.pk], "lab_staff", specimen),
        ("diagnostics:review", [specimen.pk], "doctor", specimen),
        ("diagnostics:accept_all_flagged", [specimen.pk], "doctor", specimen),  # confirmation
        ("diagnostics:cell", [specimen.pk, result.pk], "doctor", result),
        ("diagnostics:report", [specimen.pk], "doctor", specimen),
        ("cases:screen", [records["case"].pk], "doctor", specimen),
        ("cases:correct", ["patient", patient.pk], "lab_staff", patient),
        ("api:patient", [patient.pk], "doctor", patient),
        ("api:specimen", [specimen.pk], "doctor", specimen),
        ("api:specimen_images", [specimen.pk], "doctor", specimen),
        ("api:specimen_results", [specimen.pk], "doctor", specimen),
        ("api:sign_offs", [specimen.pk], "doctor", specimen),
        ("api:image", [image.pk], "doctor", image),
        ("api:result", [result.pk], "doctor", result),
        # The admin site's page of one record (its lists log each row: tests/cases/test_list_reads.py).
        ("admin:patients_patient_change", [patient.pk], "administrator", patient),
        ("admin:imaging_specimen_change", [specimen.pk], "administrator", specimen),
        ("admin:imaging_imageasset_change", [image.pk], "administrator", image),
        ("admin:diagnostics_cellresult_change", [result.pk], "administrator", result),
        # Reviews and sign-offs: superusers only (administrators lack their view permission).
        ("admin:diagnostics_cellreview_change", [records["review"].pk], "superuser", result),
        ("admin:diagnostics_specimensignoff_change", [records["sign_off"].pk], "superuser",
         specimen),
    ]


def route_names(patterns=None, namespace=""):
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(pattern, URLResolver):
            if pattern.namespace == "admin":
                continue  # Django's admin: its record pages are in patient_reads
            prefix = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from route_names(pattern.url_patterns, prefix)
        else:
            yield f"{namespace}{pattern.name}"


def test_every_route_is_either_a_logged_read_or_said_not_to_be_one(records):
    reads = {route for route, *_ in patient_reads(records)}
    unclassified = set(route_names()) - reads - set(NOT_PATIENT_READS)
    assert not unclassified, (
        f"Add {sorted(unclassified)} to patient_reads (and call accounts.audit.log_patient_read "
        f"in the view) or to NOT_PATIENT_READS with the reason")


def test_every_view_of_patient_data_leaves_one_access_entry(
        records, client, doctor, lab_staff, administrator):
    users = {"doctor": doctor, "lab_staff": lab_staff, "administrator": administrator,
             "superuser": User.objects.create_superuser("root", password=PASSWORD)}
    assign_doctor(records["patient"], doctor)
    for route, args, who, record in patient_reads(records):
        user = users[who]
        if route.startswith("api:"):  # with a token, as a script would
            http = APIClient()
            http.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0]}")
        else:
            client.force_login(user)
            http = client
        before = LogEntry.objects.filter(action=LogEntry.Action.ACCESS).count()
        response = http.get(reverse(route, args=args), **CLIENT)
        assert response.status_code == 200, route
        entries = LogEntry.objects.filter(action=LogEntry.Action.ACCESS).order_by("pk")[before:]
        assert len(entries) == 1, (route, list(entries))
        [entry] = entries
        assert (entry.actor, entry.remote_addr) == (user, "10.7.7.7"), route
        assert entry.content_type.model_class() is type(record), route
        assert entry.object_id == record.pk, route
