"""A specimen's cells counted once: each figure the review page shows, as its own query gave it."""
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from diagnostics.cell_summary import CellSummary
from diagnostics.computer_assisted import computer_assisted_section, suggested_general_category
from diagnostics.models import NILM_CATEGORY, CellResult, CellReview
from diagnostics.review import review_counts

pytestmark = pytest.mark.django_db

NORMAL = {"Superficial-Intermediate": 0.9, "Dyskeratotic": 0.1}
ABNORMAL = {"Superficial-Intermediate": 0.2, "Koilocytotic": 0.8}


@pytest.fixture
def mixed_cells(specimen, make_result, doctor):
    """Normal and abnormal cells, some referred, some reviewed either way, two with a Bethesda
    category, one queued and one failed."""
    normal = [make_result(specimen, NORMAL) for _ in range(3)]
    abnormal = [make_result(specimen, ABNORMAL, refer=True) for _ in range(2)]
    make_result(specimen, {}, status="queued")
    make_result(specimen, {}, status="failed")
    CellResult.objects.filter(pk=normal[0].pk).update(
        bethesda_model_version="bethesda-1", bethesda_category=NILM_CATEGORY)
    CellResult.objects.filter(pk=abnormal[0].pk).update(
        bethesda_model_version="bethesda-1", bethesda_category="HSIL")
    for result, reviewed_class in ((abnormal[0], "Superficial-Intermediate"),
                                   (normal[1], "Koilocytotic")):
        CellReview.objects.create(result=result, reviewer=doctor, reviewed_class=reviewed_class,
                                  accepted=False)
    return normal + abnormal


def test_each_figure_equals_its_own_query(specimen, mixed_cells):
    summary = CellSummary.of(specimen)
    results = CellResult.objects.filter(image__specimen=specimen)
    done = results.filter(status="done")
    assert summary.done_count == done.count() == 5
    assert summary.pending_count == results.filter(status__in=["queued", "running"]).count() == 1
    assert summary.unreviewed_flagged_count == done.filter(
        refer_to_cytologist=True, review__isnull=True).count() == 1
    section = computer_assisted_section(specimen, summary)
    assert section["morphology_counts"] == {
        "test-model": {"Superficial-Intermediate": 3, "Koilocytotic": 2}}
    assert list(section["morphology_counts"]["test-model"]) == [
        "Superficial-Intermediate", "Koilocytotic"]  # the most frequent first
    assert (section["cells_analysed"], section["cells_flagged"], section["cells_referred"]) == (
        5, 2, 2)
    assert section["bethesda_counts"] == {"bethesda-1": {"NILM": 1, "HSIL": 1}}
    assert section["cells_flagged_bethesda"] == 1
    assert section["bethesda_cell_images"] == 2  # neither was cut from a field of view
    assert section == computer_assisted_section(specimen)  # counting anew gives the same


def test_the_suggested_category_reads_the_reviewers_class_first(specimen, mixed_cells):
    normal_reviewed_abnormal, abnormal_reviewed_normal, abnormal = (
        mixed_cells[1], mixed_cells[3], mixed_cells[4])
    assert suggested_general_category(specimen) == "epithelial_abnormality"
    abnormal.delete()
    assert suggested_general_category(specimen) == "epithelial_abnormality"  # the reviewer's
    CellReview.objects.filter(result=normal_reviewed_abnormal).delete()
    assert abnormal_reviewed_normal.predicted_class == "Koilocytotic"
    assert suggested_general_category(specimen) == "nilm"  # reviewed as normal


def test_no_classified_cell_suggests_nothing(specimen, make_result):
    make_result(specimen, {}, status="queued")
    assert suggested_general_category(specimen) is None
    assert review_counts(specimen) == {"pending": 1, "unreviewed_flagged": 0}


def test_one_query_gives_every_count(specimen, mixed_cells):
    CellSummary.of(specimen)
    with CaptureQueriesContext(connection) as captured:
        summary = CellSummary.of(specimen)
        review_counts(specimen, summary)
        suggested_general_category(specimen, summary)
    assert len(captured.captured_queries) == 1
