"""Every page route and every API list, as every role, with ids and query strings a
crawler or an attacker would send: nothing answers 500 or raises.

The routes come from the URL resolver, so a page added later is crawled too.
"""
import pytest
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from accounts.access import assign_doctor
from cases.models import Case
from diagnostics.models import SpecimenSignOff
from imaging.models import FieldOfView, ImageAsset, Specimen, UploadBatch
from patients.models import Patient
from tests.conftest import SAMPLE_CELLS_DIR

SAMPLE_CELL = sorted(SAMPLE_CELLS_DIR.glob("*.png"))[0]
ROLES = ["anonymous", "doctor", "other_doctor", "lab_staff", "cytotechnologist", "clinician",
         "administrator"]
HUGE = 4611686018427387904
ODD_QUERIES = [
    {"page": str(HUGE), "q": "x" * 5000},
    {"page": "-1", "q": "\x00"},
    {"page": "abc", "q": "Zoë 💉 \u202e"},
    {"page": "", "q": ""},
    {"page": "\x00", "specimen": "abc", "patient": "true"},
    {"page": "١", "q": "' OR 1=1 --"},
    {"page": "1e3", "page_size": "-1", "ordering": "password"},
    {"page": "99999999999999999999999"},
]
API_LISTS = ["api:patients", "api:specimens", "api:specimen_images", "api:specimen_results",
             "api:sign_offs"]
# Sent only as GET: a POST to the logout page would end the crawler's session.
NEVER_POSTED = {"logout"}


def page_routes(patterns=None, prefix=""):
    """(url name, [argument names]) of every route outside /admin/ and /api/."""
    routes = []
    for pattern in patterns if patterns is not None else get_resolver().url_patterns:
        if isinstance(pattern, URLResolver):
            if str(pattern.pattern) in ("admin/", "api/"):
                continue
            namespace = f"{prefix}{pattern.namespace}:" if pattern.namespace else prefix
            routes += page_routes(pattern.url_patterns, namespace)
        elif isinstance(pattern, URLPattern) and pattern.name:
            routes.append((prefix + pattern.name, list(pattern.pattern.converters)))
    return routes


@pytest.fixture
def clients(doctor, other_doctor, lab_staff, cytotechnologist, clinician, administrator):
    users = {"anonymous": None, "doctor": doctor, "other_doctor": other_doctor,
             "lab_staff": lab_staff, "cytotechnologist": cytotechnologist,
             "clinician": clinician, "administrator": administrator}
    made = {}
    for role, user in users.items():
        made[role] = Client()
        if user is not None:
            made[role].force_login(user)
    return made


@pytest.fixture
def ids(patient, specimen, doctor, other_doctor, lab_staff, make_result, lab, other_lab):
    """Argument name → ids to try: real ones, 0, huge, and a record the doctor may not see."""
    result = make_result(specimen, {"Dyskeratotic": 0.7, "Parabasal": 0.3}, refer=True)
    SpecimenSignOff.objects.create(specimen=specimen, interpretation="nilm",
                                   signed_by=doctor)
    batch = UploadBatch.objects.create(specimen=specimen, uploaded_by=lab_staff)
    hidden_patient = Patient.objects.create(mrn="MRN-HIDDEN", full_name="Hidden",
                                            date_of_birth="1970-01-01")
    assign_doctor(hidden_patient, other_doctor)
    hidden_specimen = Specimen.objects.create(patient=hidden_patient, accession_number="ACC-H",
                                              collected_on="2026-11-02")
    hidden_result = make_result(hidden_specimen, {"Dyskeratotic": 1.0})
    for image in (result.image, hidden_result.image):  # make_result stores no bytes
        default_storage.save(image.file.name, ContentFile(SAMPLE_CELL.read_bytes()))
    lab.members.add(doctor)
    case = Case.objects.create(specimen=specimen, lab=lab)
    hidden_case = Case.objects.create(specimen=hidden_specimen, lab=other_lab)
    field, hidden_field = (field_of_view(specimen), field_of_view(hidden_specimen))
    real = {"patient_id": patient.pk, "specimen_id": specimen.pk, "image_id": result.image_id,
            "result_id": result.pk, "batch_id": batch.pk, "case_id": case.pk,
            "record_id": patient.pk, "field_id": field.pk}
    hidden = {"patient_id": hidden_patient.pk, "specimen_id": hidden_specimen.pk,
              "image_id": hidden_result.image_id, "result_id": hidden_result.pk,
              "batch_id": batch.pk + 1, "case_id": hidden_case.pk,
              "record_id": hidden_specimen.pk, "field_id": hidden_field.pk}
    return {**{name: [real[name], 0, HUGE, hidden[name]] for name in real},
            # A Deep Zoom tile's place (imaging:deep_zoom_tile).
            "level": [10, 0, HUGE, 99], "column": [0, 1, HUGE, 7], "row": [0, 2, HUGE, 7],
            "kind": ["patient", "nothing", "requisition", "specimen"]}


def field_of_view(specimen):
    """A field of view of the specimen whose cells were found (none), without stored bytes."""
    image = ImageAsset.objects.create(
        specimen=specimen, kind="field", file=f"specimens/{specimen.pk}/field.png",
        original_name="field.png", sha256="f" * 64, image_format="PNG",
        width=1280, height=960, size_bytes=100)
    return FieldOfView.objects.create(image=image, status="done", cells_found=0, cells_cut=0)


def urls_of(name, arguments, ids):
    if not arguments:
        return [reverse(name)]
    return [reverse(name, kwargs={argument: ids[argument][variant] for argument in arguments})
            for variant in range(4)]


def assert_no_server_error(response, request):
    assert response.status_code < 500, f"{request} answered {response.status_code}"


def test_every_page_survives_odd_ids_and_query_strings(clients, ids):
    routes = page_routes()
    assert {"patients:list", "imaging:specimen", "diagnostics:worklist"} <= {n for n, _ in routes}
    for role, client in clients.items():
        for name, arguments in routes:
            urls = urls_of(name, arguments, ids)
            for url in urls:
                assert_no_server_error(client.get(url), f"{role} GET {url}")
            for query in ODD_QUERIES:
                response = client.get(urls[0], query)
                assert_no_server_error(response, f"{role} GET {urls[0]} {query}")
                if response.status_code == 405 and name not in NEVER_POSTED:
                    response = client.post(urls[0], query)
                    assert_no_server_error(response, f"{role} POST {urls[0]} {query}")


def test_every_api_list_survives_odd_query_strings(clients, ids):
    for role, client in clients.items():
        for name in API_LISTS:
            needs_specimen = name not in ("api:patients", "api:specimens")
            url = reverse(name, args=[ids["specimen_id"][0]] if needs_specimen else [])
            for query in ODD_QUERIES:
                cache.clear()  # throttling is not what is tested here
                response = client.get(url, query)
                assert_no_server_error(response, f"{role} GET {url} {query}")
                if response.status_code < 400:
                    assert response["Content-Type"] == "application/json"
