from django import forms

from diagnostics.models import FREE_TEXT_MAX_LENGTH, CellReview, SpecimenReopening, SpecimenSignOff


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
        self.fields["reviewed_class"].choices = [(name, name) for name in result.probabilities]
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


class SignOffForm(forms.ModelForm):
    class Meta:
        model = SpecimenSignOff
        fields = ["interpretation", "comment"]
        widgets = {"interpretation": forms.RadioSelect, "comment": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # No pre-selected "---------" radio: the doctor must pick an interpretation.
        self.fields["interpretation"].choices = SpecimenSignOff.Interpretation.choices


class AmendmentForm(SignOffForm):
    class Meta(SignOffForm.Meta):
        fields = ["interpretation", "comment", "amendment_reason"]
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
