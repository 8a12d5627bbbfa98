import pytest
from django.core.cache import cache
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from diagnostics.models import CellResult
from imaging.models import ImageAsset


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


@pytest.fixture
def make_result(db):
    """A finished CellResult for a new image of the specimen, without running the classifier."""
    def make(specimen, probabilities, refer=False, status="done"):
        number = ImageAsset.objects.count() + 1
        image = ImageAsset.objects.create(
            specimen=specimen, file=f"specimens/{specimen.pk}/cell{number}.png",
            original_name=f"cell{number}.png", sha256=f"{number:064x}", image_format="PNG",
            width=8, height=8, size_bytes=100,
        )
        predicted = max(probabilities, key=probabilities.get) if status == "done" else ""
        return CellResult.objects.create(
            image=image, model_version="test-model", status=status,
            probabilities=probabilities if status == "done" else {},
            predicted_class=predicted, refer_to_cytologist=refer,
        )
    return make


PROBABILITIES = {"Dyskeratotic": 0.7, "Parabasal": 0.2, "Superficial-Intermediate": 0.1}


@pytest.fixture
def flagged_result(specimen, make_result):
    return make_result(specimen, PROBABILITIES, refer=True)
