import pytest
from django.core.cache import cache
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient



@pytest.fixture(autouse=True)
def fresh_throttle_counts():
    """Throttles count requests in the cache; each test starts from zero."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def api_client():
    return APIClient()


@pytest.fixture
def api_as(db):
    """An API client sending the user's token, as a script or a LIMS would."""
    def client_of(user):
        client = APIClient()
        if user is not None:
            token, _ = Token.objects.get_or_create(user=user)
            client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
        return client
    return client_of


PROBABILITIES = {"Dyskeratotic": 0.7, "Parabasal": 0.2, "Superficial-Intermediate": 0.1}


@pytest.fixture
def flagged_result(specimen, make_result):
    return make_result(specimen, PROBABILITIES, refer=True)
