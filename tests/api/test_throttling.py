import pytest
from django.urls import reverse

from tests.conftest import PASSWORD


@pytest.fixture
def rates(settings):
    def set_rates(**changed):
        rest = settings.REST_FRAMEWORK
        settings.REST_FRAMEWORK = {
            **rest, "DEFAULT_THROTTLE_RATES": {**rest["DEFAULT_THROTTLE_RATES"], **changed}}
    return set_rates


def test_a_user_over_the_rate_gets_429(api_as, doctor, patient, rates):
    rates(user="3/min")
    client = api_as(doctor)
    statuses = [client.get(reverse("api:patients")).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    assert "Retry-After" in client.get(reverse("api:patients")).headers


def test_anonymous_requests_are_throttled(api_client, rates):
    rates(anon="2/min")
    statuses = [api_client.get(reverse("api:patients")).status_code for _ in range(3)]
    assert statuses == [401, 401, 429]


def test_token_requests_have_a_stricter_rate_of_their_own(api_client, doctor, rates):
    rates(login="2/min", anon="100/min")
    credentials = {"username": doctor.username, "password": PASSWORD}
    statuses = [api_client.post(reverse("api:token"), credentials).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]


def test_uploads_have_a_stricter_rate_but_reading_images_does_not_count(
        api_as, lab_staff, specimen, rates):
    rates(upload="1/min", user="100/min")
    client = api_as(lab_staff)
    url = reverse("api:specimen_images", args=[specimen.pk])
    assert client.post(url, {}, format="multipart").status_code == 400  # counted, then refused
    assert client.post(url, {}, format="multipart").status_code == 429
    assert client.get(url).status_code == 200
