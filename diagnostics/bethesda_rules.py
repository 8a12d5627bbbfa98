"""Consistency rules of a Bethesda report: which recorded values contradict each other.

One function, `consistency_errors`, used by the report form, the screener's form and the
service functions that sign (for callers that skip the forms).
"""
from diagnostics.bethesda import (
    ENDOMETRIAL_CELLS_MIN_AGE, INTERPRETATION_CATEGORY, MIGRATED_ONLY, Adequacy, GeneralCategory,
    Interpretation,
)


def consistency_errors(values, age=None, allow_migrated=False):
    """{field: message} for each rule the values break; empty when they are consistent.

    `values` maps BethesdaFindings field names to values (a form's cleaned_data will do);
    `age` is the patient's age in years on the collection date (None: unknown).
    """
    get = values.get
    errors = {}
    adequacy, interpretation = get("adequacy") or "", get("interpretation") or ""
    category = get("general_category") or ""
    if adequacy == Adequacy.UNSATISFACTORY:
        if not get("unsatisfactory_kind"):
            errors["unsatisfactory_kind"] = (
                "An unsatisfactory specimen says whether it was rejected or processed and "
                "examined.")
        if not get("unsatisfactory_reason"):
            errors["unsatisfactory_reason"] = "An unsatisfactory specimen gives the reason."
        if interpretation:
            errors["interpretation"] = (
                "An unsatisfactory specimen has no interpretation: clear it, or record the "
                "specimen as satisfactory.")
        if get("transformation_zone") or get("quality_indicators"):
            errors["transformation_zone"] = (
                "Transformation zone and quality indicators belong to a satisfactory specimen.")
        return errors
    if get("unsatisfactory_kind") or get("unsatisfactory_reason"):
        errors["unsatisfactory_reason"] = (
            "Only an unsatisfactory specimen has an unsatisfactory kind and reason: clear them, "
            "or record the specimen as unsatisfactory.")
    if adequacy == Adequacy.SATISFACTORY and not interpretation:
        errors["interpretation"] = "A satisfactory specimen needs an interpretation."
    if interpretation in MIGRATED_ONLY and not allow_migrated:
        errors["interpretation"] = (
            f"“{Interpretation(interpretation).label}” exists only on reports migrated from the "
            f"former three categories: choose a Bethesda interpretation.")
    expected_category = INTERPRETATION_CATEGORY.get(interpretation)
    if expected_category and category and category != expected_category:
        errors["general_category"] = (
            f"“{Interpretation(interpretation).label}” is in the general category "
            f"“{GeneralCategory(expected_category).label}”, not "
            f"“{GeneralCategory(category).label}”.")
    if expected_category == GeneralCategory.EPITHELIAL_ABNORMALITY and (
            get("organisms") or get("other_findings")):
        field = "organisms" if get("organisms") else "other_findings"
        errors[field] = (
            "Organisms and other non-neoplastic findings are reported under NILM, not under an "
            "epithelial cell abnormality: clear them, or put them in the comment.")
    if interpretation == Interpretation.ENDOMETRIAL_CELLS and (
            age is None or age < ENDOMETRIAL_CELLS_MIN_AGE):
        known = "unknown" if age is None else f"{age}"
        errors["interpretation"] = (
            f"Endometrial cells are reported only in a woman {ENDOMETRIAL_CELLS_MIN_AGE} years "
            f"or older; this patient's age is {known}.")
    return errors


class BethesdaConsistencyMixin:
    """For a form over BethesdaFindings fields: adds each consistency error next to its field.
    Set `patient_age` (years, or None) before validation."""

    patient_age = None
    allow_migrated_interpretation = False

    def clean(self):
        cleaned = super().clean()
        errors = consistency_errors(cleaned, age=self.patient_age,
                                    allow_migrated=self.allow_migrated_interpretation)
        for field, message in errors.items():
            self.add_error(field if field in self.fields else None, message)
        return cleaned
