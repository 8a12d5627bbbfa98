"""A record the user may not see and one that does not exist get the same answer, byte for
byte, on every route that names one: the answer must not tell them apart."""
import pytest
from django.core.files.base import ContentFile
from django.urls import reverse

from imaging.models import Specimen
from patients.models import Patient

MISSING = 987654


@pytest.fixture
def hidden(lab_staff, make_result, sample_cell_paths):
    """A patient nobody assigned to the doctor, with a specimen, an image and its result."""
    patient = Patient.objects.create(mrn="MRN-H", full_name="Hidden Patient",
                                     date_of_birth="1970-01-01", created_by=lab_staff)
    specimen = Specimen.objects.create(patient=patient, accession_number="ACC-H",
                                       collected_on="2026-11-01", created_by=lab_staff)
    result = make_result(specimen, {"Dyskeratotic": 0.9, "Parabasal": 0.1}, refer=True)
    result.heatmap.save("overlay.png", ContentFile(sample_cell_paths[0].read_bytes()))
    return {"patient": patient.pk, "specimen": specimen.pk, "image": result.image_id,
            "result": result.pk}


def requests_naming(ids, visible_image):
    """(method, route, its arguments, body) of each route naming one record."""
    review = {"reviewed_class": "Parabasal"}
    sign_off = {"adequacy": "satisfactory", "interpretation": "nilm"}
    amendment = {"adequacy": "satisfactory", "interpretation": "nilm", "amendment_reason": "x"}
    return [
        ("get", "api:patient", [ids["patient"]], None),
        ("get", "api:specimen", [ids["specimen"]], None),
        ("get", "api:specimen_images", [ids["specimen"]], None),
        ("get", "api:specimen_results", [ids["specimen"]], None),
        ("get", "api:sign_offs", [ids["specimen"]], None),
        ("post", "api:sign_offs", [ids["specimen"]], sign_off),
        ("post", "api:amendments", [ids["specimen"]], amendment),
        ("get", "api:image", [ids["image"]], None),
        ("get", "api:result", [ids["result"]], None),
        ("post", "api:review", [ids["result"]], review),
        ("get", "patients:detail", [ids["patient"]], None),
        ("get", "imaging:specimen", [ids["specimen"]], None),
        ("get", "imaging:image_file", [ids["image"]], None),
        ("get", "imaging:heatmap_file", [ids["image"], ids["result"]], None),
        # A visible image, with a result of another patient's image.
        ("get", "imaging:heatmap_file", [visible_image, ids["result"]], None),
        ("get", "diagnostics:review", [ids["specimen"]], None),
        ("post", "diagnostics:review_cell", [ids["specimen"], ids["result"]], review),
        ("get", "diagnostics:report", [ids["specimen"]], None),
    ]


def test_hidden_and_missing_records_get_the_same_answer(
        client, api_as, doctor, specimen, flagged_result, hidden):
    missing = dict.fromkeys(hidden, MISSING)
    client.force_login(doctor)
    api = api_as(doctor)
    for (method, route, args, body), (_, _, missing_args, _) in zip(
            requests_naming(hidden, flagged_result.image_id),
            requests_naming(missing, flagged_result.image_id)):
        http = api if route.startswith("api:") else client
        answers = [getattr(http, method)(reverse(route, args=ids), body)
                   for ids in (args, missing_args)]
        assert [answer.status_code for answer in answers] == [404, 404], route
        assert answers[0].content == answers[1].content, (route, answers[0].content,
                                                         answers[1].content)
