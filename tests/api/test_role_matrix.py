"""Every API route and the main pages, for every role: the status each one gets.

Writes are sent with an empty body: a role that may write gets as far as validation
(400) and nothing is changed; one that may not gets 403, or 404 for a record it cannot see.
The specimen is not signed: the clinician (its ordering doctor) sees the patient, not the
specimen, its report, images or cells (404); tests/cases/test_clinician.py reads a signed one.
"""
import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.test import Client
from django.urls import URLPattern, reverse

import api.urls
from accounts.access import share_patient_with
from cases.models import Case, Requisition
from imaging.models import FieldOfView, ImageAsset

ROLES = ["anonymous", "doctor", "other_doctor", "lab_staff", "cytotechnologist", "clinician",
         "administrator"]

# (method, url name, argument kind) → expected status per role, in ROLES order.
API_MATRIX = {
    ("post", "api:token", None): (400, 400, 400, 400, 400, 400, 400),
    ("post", "api:logout", None): (401, 204, 204, 204, 204, 204, 204),
    ("get", "api:patients", None): (401, 200, 200, 200, 200, 200, 200),
    ("post", "api:patients", None): (401, 403, 403, 400, 403, 403, 400),
    ("get", "api:patient", "patient"): (401, 200, 404, 200, 200, 200, 200),
    ("get", "api:specimens", None): (401, 200, 200, 200, 200, 200, 200),
    ("post", "api:specimens", None): (401, 403, 403, 400, 403, 403, 403),
    ("get", "api:specimen", "specimen"): (401, 200, 404, 200, 200, 404, 200),
    ("get", "api:specimen_images", "specimen"): (401, 200, 404, 200, 200, 404, 200),
    ("post", "api:specimen_images", "specimen"): (401, 403, 403, 400, 403, 403, 403),
    ("get", "api:specimen_results", "specimen"): (401, 200, 404, 200, 200, 404, 200),
    ("get", "api:sign_offs", "specimen"): (401, 200, 404, 200, 200, 404, 200),
    ("post", "api:sign_offs", "specimen"): (401, 400, 404, 403, 403, 403, 403),
    ("post", "api:amendments", "specimen"): (401, 400, 404, 403, 403, 403, 403),
    ("post", "api:reopenings", "specimen"): (401, 400, 404, 403, 403, 403, 403),
    ("get", "api:image", "image"): (401, 200, 404, 200, 200, 404, 200),
    ("get", "api:result", "result"): (401, 200, 404, 200, 200, 404, 200),
    ("post", "api:review", "result"): (401, 400, 404, 403, 400, 403, 403),
    ("get", "api:schema", None): (401, 200, 200, 200, 200, 200, 200),
    ("get", "api:docs", None): (401, 200, 200, 200, 200, 200, 200),
}

# Pages send anonymous visitors to the login page (302).
PAGE_MATRIX = {
    ("get", "patients:list", None): (302, 200, 200, 200, 200, 200, 200),
    ("get", "patients:detail", "patient"): (302, 200, 404, 200, 200, 200, 200),
    ("get", "imaging:specimen", "specimen"): (302, 200, 404, 200, 200, 404, 200),
    ("get", "diagnostics:worklist", None): (302, 200, 200, 403, 403, 403, 403),
    ("get", "diagnostics:batches", None): (302, 403, 403, 200, 403, 403, 403),
    ("get", "diagnostics:review", "specimen"): (302, 200, 404, 403, 200, 403, 403),
    ("get", "diagnostics:report", "specimen"): (302, 200, 404, 200, 200, 404, 200),
    ("get", "diagnostics:dashboard", None): (302, 403, 403, 403, 403, 403, 200),
    ("get", "diagnostics:cell", "cell"): (302, 200, 404, 200, 200, 404, 200),
    ("post", "diagnostics:reopen", "specimen"): (302, 302, 404, 403, 403, 403, 403),
    ("post", "diagnostics:accept_all_flagged", "specimen"): (302, 302, 404, 403, 302, 403, 403),
    ("get", "imaging:thumbnail_file", "image"): (302, 200, 404, 200, 200, 404, 200),
    ("get", "imaging:viewer", "field"): (302, 200, 404, 200, 200, 404, 200),
    # The live microscope view: who may upload (lab staff); an empty frame is refused (400).
    ("get", "imaging:live", "specimen"): (302, 403, 403, 200, 403, 403, 403),
    ("post", "imaging:live_frame", "specimen"): (302, 403, 403, 400, 403, 403, 403),
    ("post", "imaging:live_capture", "specimen"): (302, 403, 403, 400, 403, 403, 403),
    ("get", "patients:access_log", "patient"): (302, 403, 403, 403, 403, 403, 200),
    # The doctor is a pathologist of the case's lab; the other doctor a pathologist of none.
    ("get", "cases:queue", None): (302, 200, 200, 403, 200, 403, 403),
    ("get", "cases:mine", None): (302, 200, 200, 403, 200, 403, 403),
    ("get", "cases:pathologist_queue", None): (302, 200, 200, 403, 403, 403, 403),
    ("get", "cases:screen", "case"): (302, 200, 404, 403, 200, 403, 403),
    ("get", "cases:correct", "correction"): (302, 403, 403, 200, 403, 403, 403),
    ("post", "cases:assign", "case"): (302, 302, 404, 403, 403, 403, 403),
    ("post", "cases:return", "case"): (302, 302, 404, 403, 302, 403, 403),
    ("post", "cases:delete_image", "image"): (302, 403, 403, 302, 403, 403, 403),
    ("post", "cases:claim", "case"): (302, 302, 404, 403, 302, 403, 403),  # last: it claims
}


@pytest.fixture
def users(doctor, other_doctor, lab_staff, cytotechnologist, clinician, administrator):
    return {"anonymous": None, "doctor": doctor, "other_doctor": other_doctor,
            "lab_staff": lab_staff, "cytotechnologist": cytotechnologist, "clinician": clinician,
            "administrator": administrator}


@pytest.fixture
def records(patient, specimen, flagged_result, sample_cell_paths, lab, doctor, clinician):
    lab.members.add(doctor)
    case = Case.objects.create(specimen=specimen, lab=lab)
    Requisition.objects.create(specimen=specimen, ordering_clinician=clinician,
                               specimen_type="conventional")
    share_patient_with(clinician, patient)
    # The image's bytes in storage, so its thumbnail can be made on first request.
    default_storage.save(flagged_result.image.file.name,
                         ContentFile(sample_cell_paths[0].read_bytes()))
    return {"patient": patient.pk, "specimen": specimen.pk, "image": flagged_result.image_id,
            "result": flagged_result.pk, "cell": (specimen.pk, flagged_result.pk),
            "case": case.pk, "correction": ("patient", patient.pk),
            "field": (specimen.pk, field_of(specimen).pk)}


def field_of(specimen):
    """A field of view of the specimen, searched (no cells, no stored bytes)."""
    image = ImageAsset.objects.create(
        specimen=specimen, kind="field", file=f"specimens/{specimen.pk}/field.png",
        original_name="field.png", sha256="f" * 64, image_format="PNG", width=1280,
        height=960, size_bytes=100)
    return FieldOfView.objects.create(image=image, status="done", cells_found=0, cells_cut=0)


def page_client(user):
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def observed_statuses(matrix, client_of, users, records):
    observed = {}
    for (method, name, kind), _ in matrix.items():
        args = records[kind] if kind else []
        url = reverse(name, args=args if isinstance(args, (list, tuple)) else [args])
        for role in ROLES:
            client = client_of(users[role])
            response = client.post(url, {}) if method == "post" else client.get(url)
            observed[(method, name, role)] = response.status_code
    return observed


def expected_statuses(matrix):
    return {(method, name, role): status
            for (method, name, _), statuses in matrix.items()
            for role, status in zip(ROLES, statuses)}


def test_every_api_route_is_in_the_matrix():
    names = {f"api:{pattern.name}" for pattern in api.urls.urlpatterns
             if isinstance(pattern, URLPattern)}
    assert names == {name for _, name, _ in API_MATRIX}


def test_role_matrix(api_as, users, records):
    expected = expected_statuses(API_MATRIX) | expected_statuses(PAGE_MATRIX)
    observed = (observed_statuses(API_MATRIX, api_as, users, records)
                | observed_statuses(PAGE_MATRIX, page_client, users, records))
    print(f"role matrix: {len(API_MATRIX) + len(PAGE_MATRIX)} routes × {len(ROLES)} roles "
          f"= {len(observed)} cases")
    assert len(observed) == (len(API_MATRIX) + len(PAGE_MATRIX)) * len(ROLES) == 46 * 7
    mismatches = {case: (observed[case], status) for case, status in expected.items()
                  if observed[case] != status}
    assert not mismatches, f"(method, route, role): (observed, expected) {mismatches}"
