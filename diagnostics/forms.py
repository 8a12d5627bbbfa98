from django import forms

from diagnostics.models import SpecimenReopening, SpecimenSignOff


class CellReviewForm(forms.Form):
    reviewed_class = forms.ChoiceField(label="Class")

    def __init__(self, result, *args, **kwargs):
        # One form per cell on the review page: each select needs its own id for its label.
        kwargs.setdefault("auto_id", f"id_result{result.pk}_%s")
        super().__init__(*args, **kwargs)
        self.fields["reviewed_class"].choices = [(name, name) for name in result.probabilities]
        self.fields["reviewed_class"].initial = (
            result.review.reviewed_class if hasattr(result, "review") else result.predicted_class
        )


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
