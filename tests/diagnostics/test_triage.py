import pytest

from diagnostics.computer_assisted import most_suspicious_cells
from diagnostics.models import CellResult
from diagnostics.triage import (TRIAGE_RULE, WORST_CELLS, cell_suspicion, suspicion_of,
                                triage_score, update_triage_score)


def cell(dyskeratotic=0.0, koilocytotic=0.0):
    rest = 1.0 - dyskeratotic - koilocytotic
    return {"Dyskeratotic": dyskeratotic, "Koilocytotic": koilocytotic, "Superficial-Intermediate": rest}


def test_score_is_the_mean_abnormal_probability_of_the_five_worst_cells():
    cells = [cell(0.9), cell(koilocytotic=0.8), cell(0.4, 0.3), cell(0.6), cell(0.5)] + [cell()] * 20
    assert WORST_CELLS == 5
    assert triage_score(cells) == pytest.approx((0.9 + 0.8 + 0.7 + 0.6 + 0.5) / 5)


def test_many_normal_cells_do_not_dilute_a_few_abnormal_ones():
    few = [cell(0.9)] * 5
    assert triage_score(few + [cell()] * 500) == pytest.approx(triage_score(few))


def test_fewer_than_five_cells_use_all_of_them():
    assert triage_score([cell(0.8), cell(0.2)]) == pytest.approx(0.5)


def test_missing_classes_count_as_zero():
    assert triage_score([{"Parabasal": 0.7, "Koilocytotic": 0.3}]) == pytest.approx(0.3)


def test_no_classified_cells_have_no_score():
    assert triage_score([]) is None


def test_rule_shown_to_doctors_names_the_abnormal_classes():
    assert "Dyskeratotic" in TRIAGE_RULE and "Koilocytotic" in TRIAGE_RULE and "5" in TRIAGE_RULE


def test_stored_score_counts_only_finished_results(specimen, make_result):
    make_result(specimen, cell(0.9))
    make_result(specimen, cell(0.1))
    make_result(specimen, {}, status="queued")
    update_triage_score(specimen)
    specimen.refresh_from_db()
    assert specimen.triage_score == pytest.approx(0.5)


def test_stored_score_is_the_rule_computed_by_the_database(specimen, make_result):
    cells = ([cell(0.9), cell(koilocytotic=0.8), cell(0.4, 0.3), cell(0.6), cell(0.5)]
             + [{"Parabasal": 0.35, "Koilocytotic": 0.65}, {"Metaplastic": 1.0}]
             + [cell(0.05)] * 12)
    for probabilities in cells:
        make_result(specimen, probabilities)
    assert update_triage_score(specimen) == pytest.approx(triage_score(cells))
    specimen.refresh_from_db()
    assert specimen.triage_score == pytest.approx((0.9 + 0.8 + 0.7 + 0.65 + 0.6) / 5)


NILM = "Negative for intraepithelial lesion"


def bethesda(abnormal):
    return {NILM: 1.0 - abnormal, "High-grade squamous intraepithelial lesion": abnormal}


@pytest.fixture
def field_crop(cut_from_a_field):
    """Make a result a crop cut from a field of view, as the Bethesda model answered for it."""
    def answered(result, bethesda_probabilities):
        cut_from_a_field(result)
        CellResult.objects.filter(pk=result.pk).update(
            bethesda_model_version="test-bethesda",
            bethesda_probabilities=bethesda_probabilities,
            bethesda_category=max(bethesda_probabilities, key=bethesda_probabilities.get))
    return answered


def test_a_cell_cut_from_a_field_is_as_suspicious_as_the_bethesda_model_says():
    assert cell_suspicion(cell(0.9), bethesda(0.2), cut_from_field=True) == pytest.approx(0.2)
    assert cell_suspicion(cell(0.9), bethesda(0.2), cut_from_field=False) == pytest.approx(0.9)
    # No Bethesda answer: the morphology model's measure.
    assert cell_suspicion(cell(0.4, 0.3), {}, cut_from_field=True) == pytest.approx(0.7)


def test_the_database_ranks_field_cells_by_the_bethesda_model(specimen, make_result,
                                                              field_crop):
    isolated = [make_result(specimen, cell(p)) for p in (0.3, 0.1)]
    # Cut from a field: the morphology model calls them abnormal, the Bethesda model not,
    # or the other way round.
    for morphology, abnormal in ((0.95, 0.05), (0.9, 0.1), (0.05, 0.8), (0.1, 0.6)):
        field_crop(make_result(specimen, cell(morphology)), bethesda(abnormal))
    expected = (0.8 + 0.6 + 0.3 + 0.1 + 0.1) / 5
    assert update_triage_score(specimen) == pytest.approx(expected)
    results = CellResult.objects.select_related("image")
    assert sorted(map(suspicion_of, results), reverse=True)[:5] == pytest.approx(
        [0.8, 0.6, 0.3, 0.1, 0.1])
    assert suspicion_of(isolated[0]) == pytest.approx(0.3)
    assert [cell["abnormal_probability"] for cell in most_suspicious_cells(specimen)] == \
        pytest.approx([0.8, 0.6, 0.3, 0.1, 0.1])
