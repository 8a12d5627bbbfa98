from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from diagnostics.models import CellResult, CellReview

DASHBOARD = reverse("diagnostics:dashboard")
NORMAL = {"Superficial-Intermediate": 0.9, "Dyskeratotic": 0.1}
ABNORMAL = {"Superficial-Intermediate": 0.2, "Dyskeratotic": 0.8}


@pytest.fixture
def processed(make_result, specimen):
    """A result finished ``days_ago`` days ago by ``model_version`` in ``seconds``."""
    def make(probabilities, seconds=1.0, days_ago=0, model_version="test-model", status="done"):
        result = make_result(specimen, probabilities, status=status)
        CellResult.objects.filter(pk=result.pk).update(
            model_version=model_version, seconds_taken=seconds,
            finished_at=timezone.now() - timedelta(days=days_ago),
        )
        result.refresh_from_db()
        return result
    return make


def test_administrator_sees_the_dashboard(client_for, administrator):
    response = client_for(administrator).get(DASHBOARD)
    assert response.status_code == 200
    assert "Images processed per day" in response.content.decode()


@pytest.mark.parametrize("role", ["doctor", "lab_staff"])
def test_other_roles_cannot_see_the_dashboard(client_for, role, request):
    assert client_for(request.getfixturevalue(role)).get(DASHBOARD).status_code == 403


def test_administrator_who_is_not_staff_cannot_see_the_dashboard(client_for, administrator):
    User.objects.filter(pk=administrator.pk).update(is_staff=False)
    administrator.refresh_from_db()
    assert client_for(administrator).get(DASHBOARD).status_code == 403


def test_dashboard_counts_images_per_day_and_processing_time(client_for, administrator, processed):
    for seconds in [1.0] * 19 + [9.0]:
        processed(NORMAL, seconds=seconds)
    processed(NORMAL, days_ago=3)
    processed(NORMAL, days_ago=45)  # outside the 30 days
    context = client_for(administrator).get(DASHBOARD).context
    per_day = {day: done for day, done, _ in context["per_day"]}
    today = timezone.localdate()
    assert len(per_day) == 30
    assert per_day[today] == 20 and per_day[today - timedelta(days=3)] == 1
    assert context["processed_total"] == 21
    timing = context["timing"]
    assert timing["count"] == 21 and timing["p95"] == 1.0 and timing["longest"] == 9.0
    assert timing["mean"] == pytest.approx((20 * 1.0 + 9.0) / 21)


def test_dashboard_shows_class_mix(client_for, administrator, processed):
    processed(NORMAL)
    processed(NORMAL)
    processed(NORMAL)
    processed(ABNORMAL)
    page = client_for(administrator).get(DASHBOARD).content.decode()
    assert "<td>Superficial-Intermediate</td><td>3</td><td>75%</td>" in page
    assert "<td>Dyskeratotic</td><td>1</td><td>25%</td>" in page


def test_dashboard_shows_override_rate_per_model_version(
    client_for, administrator, doctor, processed
):
    def review(result, accepted):
        CellReview.objects.create(result=result, reviewer=doctor, accepted=accepted,
                                  reviewed_class=result.predicted_class if accepted else "Parabasal")

    for accepted in (True, True, True, False):
        review(processed(NORMAL, model_version="v1"), accepted)
    review(processed(NORMAL, model_version="v2"), True)
    processed(NORMAL, model_version="v2")
    rates = {row["model_version"]: row for row in
             client_for(administrator).get(DASHBOARD).context["override_rates"]}
    assert rates["v1"]["override_rate"] == 0.25 and rates["v1"]["reviewed"] == 4
    assert rates["v2"]["override_rate"] == 0.0 and rates["v2"]["classified"] == 2


def test_dashboard_query_count_does_not_grow_with_results(
    client_for, administrator, doctor, processed, django_assert_max_num_queries
):
    client = client_for(administrator)
    processed(NORMAL)
    client.get(DASHBOARD)
    with CaptureQueriesContext(connection) as few:
        client.get(DASHBOARD)
    for days_ago in range(10):
        for version in ("v1", "v2", "v3"):
            result = processed(ABNORMAL, days_ago=days_ago, model_version=version)
            CellReview.objects.create(result=result, reviewer=doctor, accepted=False,
                                      reviewed_class="Parabasal")
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(DASHBOARD)


def test_dashboard_is_linked_for_administrators(client_for, administrator, doctor):
    assert DASHBOARD in client_for(administrator).get(reverse("admin:index")).content.decode()
    assert DASHBOARD in client_for(administrator).get(reverse("patients:list")).content.decode()
    assert DASHBOARD not in client_for(doctor).get(reverse("patients:list")).content.decode()
