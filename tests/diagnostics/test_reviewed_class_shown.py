"""After review the specimen page shows the reviewer's class (the model's beside it) in the
gallery, the charts, the counts and the results table, at a cost of one query."""
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from diagnostics import review
from diagnostics.presentation import specimen_charts, with_reviews

PROBABILITIES = {"Dyskeratotic": 0.45, "Koilocytotic": 0.35, "Parabasal": 0.2}


@pytest.fixture
def ada(doctor):
    doctor.first_name, doctor.last_name = "Ada", "Lovelace"
    doctor.save()
    return doctor


@pytest.fixture
def flagged(specimen, make_result):
    return [make_result(specimen, PROBABILITIES, refer=True) for _ in range(3)]


def test_the_gallery_shows_the_reviewed_class_and_the_models(client_for, ada, specimen, flagged):
    review.review_cell(flagged[0], ada, "Koilocytotic")
    review.review_cell(flagged[1], ada, "Dyskeratotic")
    response = client_for(ada).get(specimen.get_absolute_url())
    html = response.content.decode()
    assert "<strong>Koilocytotic</strong> <span class=\"hint\">(model: Dyskeratotic 0.450)</span>" in html
    assert "reviewed by Ada Lovelace" in html
    assert "3 flagged for a cytologist, 1 of them not reviewed yet" in html
    charts = response.context["charts"]
    counts = dict(zip(charts["classes"], charts["counts"]))
    assert counts == {"Dyskeratotic": 2, "Koilocytotic": 1, "Parabasal": 0}
    assert dict(zip(charts["classes"], charts["overridden"]))["Koilocytotic"] == 1
    assert "Koilocytotic: 1 cell, 1 reviewed (1 moved here from the model's class)" in html


def test_reviews_cost_the_specimen_page_one_query_whatever_their_number(
        client_for, ada, specimen, make_result):
    client = client_for(ada)
    cells = [make_result(specimen, PROBABILITIES, refer=True) for _ in range(2)]
    review.review_cell(cells[0], ada, "Parabasal")
    client.get(specimen.get_absolute_url())
    with CaptureQueriesContext(connection) as few:
        client.get(specimen.get_absolute_url())
    for _ in range(6):
        review.review_cell(make_result(specimen, PROBABILITIES, refer=True), ada, "Parabasal")
    with CaptureQueriesContext(connection) as many:
        client.get(specimen.get_absolute_url())
    assert len(many.captured_queries) <= len(few.captured_queries)


def test_charts_count_a_reviewed_cell_under_its_reviewed_class(ada, flagged):
    review.review_cell(flagged[2], ada, "Parabasal")
    charts = specimen_charts(with_reviews(flagged))
    assert dict(zip(charts["classes"], charts["counts"])) == {
        "Dyskeratotic": 2, "Koilocytotic": 0, "Parabasal": 1}
    assert charts["reviewed"] == [0, 0, 1]
