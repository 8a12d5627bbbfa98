import pytest

from diagnostics.triage import TRIAGE_RULE, WORST_CELLS, triage_score, update_triage_score


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
