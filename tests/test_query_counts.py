"""Every main page and API endpoint runs as many queries with five times the rows as with a few."""
import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from cases.models import Case
from diagnostics.models import CellResult, SpecimenSignOff
from imaging.synthetic import LAB_USERNAME, LoadSize, generate_synthetic_load
from imaging.models import Specimen
from patients.models import Patient

SMALL = {"patients": 3, "specimens_per_patient": 1, "images_per_specimen": 3}
LARGE = {"patients": 10, "specimens_per_patient": 5, "images_per_specimen": 15}


def load(size, sign_off_versions):
    """Add a synthetic load; return its newest patient and that patient's newest specimen,
    signed off in ``sign_off_versions`` versions."""
    generate_synthetic_load(LoadSize(doctors=1, seed=3, **size), confirmed=True)
    patient = Patient.objects.order_by("-mrn").first()
    specimen = patient.specimens.order_by("-collected_on").first()
    open_cases(specimen)
    doctor = User.objects.get(username="syn-doctor-01")
    SpecimenSignOff.objects.filter(specimen=specimen).delete()
    for version in range(1, sign_off_versions + 1):
        SpecimenSignOff.objects.create(
            specimen=specimen, version=version, interpretation="nilm", signed_by=doctor,
            amendment_reason="" if version == 1 else "Second look.")
    return patient, specimen


def open_cases(subject):
    """The cases the synthetic load opened (one lab, the doctor a member), the subject's in
    screening with the doctor, the others in turn awaiting screening and awaiting a pathologist."""
    others = list(Case.objects.exclude(specimen=subject).order_by("pk").values_list("pk", flat=True))
    Case.objects.filter(pk__in=others[0::2]).update(stage=Case.Stage.AWAITING_SCREENING)
    Case.objects.filter(pk__in=others[1::2]).update(stage=Case.Stage.AWAITING_PATHOLOGIST)
    Case.objects.filter(specimen=subject).update(stage=Case.Stage.IN_SCREENING, screener=doctor())


def doctor():
    return User.objects.get(username="syn-doctor-01")


def lab_user():
    return User.objects.get(username=LAB_USERNAME)


PAGES = {
    "patient list": lambda patient, specimen: (lab_user(), reverse("patients:list")),
    "patient history": lambda patient, specimen: (doctor(), reverse("patients:detail", args=[patient.pk])),
    "specimen": lambda patient, specimen: (doctor(), reverse("imaging:specimen", args=[specimen.pk])),
    "worklist": lambda patient, specimen: (doctor(), reverse("diagnostics:worklist")),
    "screening queue": lambda patient, specimen: (doctor(), reverse("cases:queue")),
    "my cases": lambda patient, specimen: (doctor(), reverse("cases:mine")),
    "pathologist queue": lambda patient, specimen: (doctor(), reverse("cases:pathologist_queue")),
    "screening": lambda patient, specimen: (doctor(), reverse("cases:screen", args=[specimen.case.pk])),
    "batches": lambda patient, specimen: (lab_user(), reverse("diagnostics:batches")),
    "review": lambda patient, specimen: (doctor(), reverse("diagnostics:review", args=[specimen.pk])),
    "report": lambda patient, specimen: (doctor(), reverse("diagnostics:report", args=[specimen.pk])),
    "dashboard": lambda patient, specimen: ("administrator", reverse("diagnostics:dashboard")),
    "api patients": lambda patient, specimen: (lab_user(), reverse("api:patients")),
    "api patient": lambda patient, specimen: (doctor(), reverse("api:patient", args=[patient.pk])),
    "api specimens": lambda patient, specimen: (doctor(), reverse("api:specimens")),
    "api specimen": lambda patient, specimen: (doctor(), reverse("api:specimen", args=[specimen.pk])),
    "api images": lambda patient, specimen: (doctor(), reverse("api:specimen_images", args=[specimen.pk])),
    "api results": lambda patient, specimen: (doctor(), reverse("api:specimen_results", args=[specimen.pk])),
    "api sign-offs": lambda patient, specimen: (doctor(), reverse("api:sign_offs", args=[specimen.pk])),
    "api image": lambda patient, specimen: (doctor(), reverse("api:image", args=[last_image(specimen).pk])),
    "api result": lambda patient, specimen: (doctor(), reverse("api:result", args=[last_result(specimen).pk])),
}


def last_image(specimen):
    return specimen.images.order_by("-pk").first()


def last_result(specimen):
    return CellResult.objects.filter(image__specimen=specimen).order_by("-pk").first()


def open_page(client, user, url):
    client.force_login(user)
    response = client.get(url)  # warms per-process caches (content types, permissions)
    assert response.status_code == 200
    return response


@pytest.mark.django_db
@pytest.mark.parametrize("page", PAGES)
def test_page_queries_do_not_grow_with_rows(page, client, administrator,
                                            django_assert_max_num_queries):
    def user_and_url(loaded):
        user, url = PAGES[page](*loaded)
        return administrator if user == "administrator" else user, url

    user, url = user_and_url(load(SMALL, sign_off_versions=1))
    open_page(client, user, url)
    with CaptureQueriesContext(connection) as small:
        client.get(url)
    small_count = len(small.captured_queries)  # read now: the next capture resets the log

    user, url = user_and_url(load(LARGE, sign_off_versions=3))
    open_page(client, user, url)
    with django_assert_max_num_queries(small_count):
        response = client.get(url)
    assert response.status_code == 200
