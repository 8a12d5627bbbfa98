"""Each consistency rule of a Bethesda report, on plain values (no database)."""
from diagnostics.bethesda import (
    SNOMED_CODES, Adequacy, GeneralCategory, Interpretation, Organism, snomed_code,
)
from diagnostics.bethesda_rules import consistency_errors

SATISFACTORY = {"adequacy": Adequacy.SATISFACTORY}


def test_a_consistent_lsil_report_has_no_errors():
    values = {**SATISFACTORY, "general_category": GeneralCategory.EPITHELIAL_ABNORMALITY,
              "interpretation": Interpretation.LSIL, "hpv_result": "positive_16"}
    assert consistency_errors(values) == {}


def test_no_epithelial_abnormality_under_nilm():
    values = {**SATISFACTORY, "general_category": GeneralCategory.NILM,
              "interpretation": Interpretation.HSIL}
    assert "general_category" in consistency_errors(values)


def test_nilm_interpretation_under_epithelial_abnormality_is_refused():
    values = {**SATISFACTORY, "general_category": GeneralCategory.EPITHELIAL_ABNORMALITY,
              "interpretation": Interpretation.NILM}
    assert "general_category" in consistency_errors(values)


def test_nilm_with_organisms_and_findings_is_consistent():
    values = {**SATISFACTORY, "general_category": GeneralCategory.NILM,
              "interpretation": Interpretation.NILM, "organisms": [Organism.CANDIDA],
              "other_findings": ["atrophy"]}
    assert consistency_errors(values) == {}


def test_no_organism_under_an_epithelial_abnormality():
    values = {**SATISFACTORY, "interpretation": Interpretation.ASC_US,
              "organisms": [Organism.TRICHOMONAS]}
    assert "organisms" in consistency_errors(values)


def test_no_non_neoplastic_finding_under_an_epithelial_abnormality():
    values = {**SATISFACTORY, "interpretation": Interpretation.AGC_NOS,
              "other_findings": ["reactive_inflammation"]}
    assert "other_findings" in consistency_errors(values)


def test_unsatisfactory_needs_a_kind_and_a_reason():
    errors = consistency_errors({"adequacy": Adequacy.UNSATISFACTORY})
    assert set(errors) == {"unsatisfactory_kind", "unsatisfactory_reason"}


def test_unsatisfactory_has_no_interpretation():
    values = {"adequacy": Adequacy.UNSATISFACTORY, "unsatisfactory_kind": "processed",
              "unsatisfactory_reason": "obscuring_blood", "interpretation": Interpretation.NILM}
    assert set(consistency_errors(values)) == {"interpretation"}


def test_a_complete_unsatisfactory_report_is_consistent():
    values = {"adequacy": Adequacy.UNSATISFACTORY, "unsatisfactory_kind": "rejected",
              "unsatisfactory_reason": "unlabelled"}
    assert consistency_errors(values) == {}


def test_satisfactory_has_no_unsatisfactory_reason():
    values = {**SATISFACTORY, "interpretation": Interpretation.NILM,
              "unsatisfactory_reason": "obscuring_blood"}
    assert "unsatisfactory_reason" in consistency_errors(values)


def test_satisfactory_needs_an_interpretation():
    assert "interpretation" in consistency_errors(SATISFACTORY)


def test_endometrial_cells_only_in_a_woman_45_or_older():
    values = {**SATISFACTORY, "general_category": GeneralCategory.OTHER,
              "interpretation": Interpretation.ENDOMETRIAL_CELLS}
    assert "interpretation" in consistency_errors(values, age=44)
    assert "interpretation" in consistency_errors(values, age=None)
    assert consistency_errors(values, age=45) == {}


def test_see_comment_is_only_for_migrated_reports():
    values = {**SATISFACTORY, "interpretation": Interpretation.SEE_COMMENT}
    assert "interpretation" in consistency_errors(values)
    assert consistency_errors(values, allow_migrated=True) == {}


def test_codes_are_kept_per_field_so_shared_values_do_not_collide():
    assert snomed_code("interpretation", Interpretation.ASC_US) == "441087007"
    assert snomed_code("unsatisfactory_reason", "obscuring_blood") == "123836007"
    assert snomed_code("quality_indicators", "obscuring_blood") == ""
    assert snomed_code("interpretation", Interpretation.SEE_COMMENT) == ""  # unconfirmed
    assert set(SNOMED_CODES["interpretation"]) == set(Interpretation.values)
