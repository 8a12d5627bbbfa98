from django import forms

from diagnostics.bethesda import (
    BETHESDA_FIELDS, GLANDULAR, SQUAMOUS, GeneralCategory, HpvResult, Interpretation,
)
from diagnostics.bethesda_rules import BethesdaConsistencyMixin
from diagnostics.computer_assisted import suggested_general_category
from diagnostics.models import (FREE_TEXT_MAX_LENGTH, CellReview, SpecimenReopening,
                                SpecimenSignOff, class_names)
from diagnostics.report_text import patient_age


class CellReviewForm(forms.Form):
    """A cell's class (accepted or overridden) and the reviewer's note. A form without the
    note field leaves the cell's note as it is (the API, older clients)."""

    reviewed_class = forms.ChoiceField(label="Class")
    note = forms.CharField(label="Note", required=False, max_length=FREE_TEXT_MAX_LENGTH,
                           widget=forms.Textarea(attrs={"rows": 1, "class": "cell-note",
                                                        "placeholder": "Note (optional)"}))

    def __init__(self, result, *args, **kwargs):
        # One form per cell on the review page: each control needs its own id for its label.
        kwargs.setdefault("auto_id", f"id_result{result.pk}_%s")
        super().__init__(*args, **kwargs)
        self.fields["reviewed_class"].choices = [
            (name, name) for name in class_names([result.probabilities])]
        cell_review = reviewed(result)
        self.fields["reviewed_class"].initial = (
            cell_review.reviewed_class if cell_review else result.predicted_class)
        self.fields["note"].initial = cell_review.note if cell_review else ""

    def note_or_none(self):
        """The note typed, or None when the form did not send a note field at all."""
        return self.cleaned_data["note"] if "note" in self.data else None


def reviewed(result):
    try:
        return result.review
    except CellReview.DoesNotExist:
        return None


INTERPRETATION_GROUPS = [
    ("", "— choose —"),
    ("Negative", [(Interpretation.NILM.value, Interpretation.NILM.label)]),
    ("Epithelial cell abnormality: squamous cell", [(v.value, v.label) for v in SQUAMOUS]),
    ("Epithelial cell abnormality: glandular cell", [(v.value, v.label) for v in GLANDULAR]),
    ("Other", [(Interpretation.ENDOMETRIAL_CELLS.value, Interpretation.ENDOMETRIAL_CELLS.label)]),
]


class SignOffForm(BethesdaConsistencyMixin, forms.ModelForm):
    """The Bethesda report a signer fills in; each consistency error shows next to its field.
    Pass `specimen` for the patient's age and the AI's suggested general category (and its
    `cell_summary` where the caller has it)."""

    takes_specimen = True
    fieldsets = [
        ("Specimen", ["specimen_type", "adequacy", "transformation_zone", "quality_indicators",
                      "unsatisfactory_kind", "unsatisfactory_reason"]),
        ("Interpretation/result", ["general_category", "interpretation", "organisms",
                                   "other_findings"]),
        ("Adjunctive testing", ["hpv_result"]),
        ("Recommendations and notes", ["recommendations", "recommendation_note",
                                       "educational_note", "comment"]),
    ]

    class Meta:
        model = SpecimenSignOff
        fields = [*BETHESDA_FIELDS, "recommendations", "recommendation_note", "educational_note",
                  "comment"]
        radios = ["specimen_type", "adequacy", "transformation_zone", "unsatisfactory_kind",
                  "general_category", "hpv_result"]
        widgets = {
            **{name: forms.RadioSelect for name in radios},
            "comment": forms.Textarea(attrs={"rows": 3}),
            "recommendation_note": forms.Textarea(attrs={"rows": 2}),
            "educational_note": forms.Textarea(attrs={"rows": 2}),
        }

    def __init__(self, *args, specimen=None, cell_summary=None, **kwargs):
        super().__init__(*args, **kwargs)
        for name in self.Meta.radios:  # no pre-selected "---------" radio
            self.fields[name].choices = self.fields[name].choices[1:]
        self.fields["interpretation"].choices = INTERPRETATION_GROUPS
        self.fields["adequacy"].required = True
        self.fields["hpv_result"].initial = HpvResult.NOT_DONE
        self.suggested_category = None
        if specimen is not None:
            self.patient_age = patient_age(specimen)
            self.suggested_category = suggested_general_category(specimen, cell_summary)
            if self.suggested_category:
                self.fields["general_category"].initial = self.suggested_category
                self.fields["general_category"].help_text = (
                    f"Suggested by the AI from the classified cells: "
                    f"{GeneralCategory(self.suggested_category).label}. A suggestion only: "
                    f"the interpretation is yours.")

    def grouped_fields(self):
        return [(legend, [self[name] for name in names]) for legend, names in self.fieldsets]


class AmendmentForm(SignOffForm):
    fieldsets = [*SignOffForm.fieldsets, ("Amendment", ["amendment_reason"])]

    class Meta(SignOffForm.Meta):
        fields = [*SignOffForm.Meta.fields, "amendment_reason"]
        widgets = {**SignOffForm.Meta.widgets, "amendment_reason": forms.Textarea(attrs={"rows": 2})}
        labels = {"amendment_reason": "Reason for the amendment"}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["amendment_reason"].required = True


class ReopeningForm(forms.ModelForm):
    class Meta:
        model = SpecimenReopening
        fields = ["reason"]
        widgets = {"reason": forms.Textarea(attrs={"rows": 2})}
        labels = {"reason": "Reason for re-opening"}
