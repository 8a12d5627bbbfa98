import pytest
from django.urls import reverse

ALLOWED = "https://lims.example.org"


@pytest.fixture(autouse=True)
def allowed_origins(settings):
    settings.CORS_ALLOWED_ORIGINS = [ALLOWED]


def preflight(client, origin, url=None):
    return client.options(url or reverse("api:patients"), HTTP_ORIGIN=origin,
                          HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET",
                          HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization")


def test_a_listed_origin_may_call_the_api(api_client, db):
    response = preflight(api_client, ALLOWED)
    assert response["Access-Control-Allow-Origin"] == ALLOWED
    assert "authorization" in response["Access-Control-Allow-Headers"]
    assert "Access-Control-Allow-Credentials" not in response


def test_other_origins_get_no_cors_headers(api_client, db):
    response = preflight(api_client, "https://evil.example.com")
    assert "Access-Control-Allow-Origin" not in response


def test_pages_are_never_opened_to_other_origins(api_client, db):
    response = preflight(api_client, ALLOWED, url=reverse("patients:list"))
    assert "Access-Control-Allow-Origin" not in response


def test_no_origin_is_allowed_by_default(api_client, settings, db):
    settings.CORS_ALLOWED_ORIGINS = []
    assert "Access-Control-Allow-Origin" not in preflight(api_client, ALLOWED)
