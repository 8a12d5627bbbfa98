from django import forms
from django.contrib.auth.models import User

from accounts.roles import CLINICIAN
from cases.dates import not_in_future
from cases.models import Lab, Requisition, ScreeningFindings
from diagnostics.bethesda import CHOOSABLE_INTERPRETATIONS
from diagnostics.bethesda_rules import BethesdaConsistencyMixin

DATE = forms.DateInput(attrs={"type": "date"})


class ClinicianChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, user):
        return user.get_full_name() or user.username


class RequisitionForm(forms.ModelForm):
    """The requisition and the lab whose screening queue the case enters."""

    lab = forms.ModelChoiceField(queryset=Lab.objects.none(), empty_label=None,
                                 help_text="The lab that screens this specimen.")
    ordering_clinician = ClinicianChoiceField(queryset=User.objects.none())
    other_risk_flags = forms.MultipleChoiceField(
        label="Other high-risk flags", choices=Requisition.RiskFlag.choices, required=False,
        widget=forms.CheckboxSelectMultiple)

    class Meta:
        model = Requisition
        fields = ["lab", "ordering_clinician", "specimen_type", "last_menstrual_period",
                  "previous_abnormal_result", "hpv_result", "post_menopausal", "pregnant",
                  "hysterectomy", "other_risk_flags"]
        widgets = {"last_menstrual_period": DATE}

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["lab"].queryset = user.labs.all()
        self.fields["ordering_clinician"].queryset = User.objects.filter(
            groups__name=CLINICIAN, is_active=True).order_by("last_name", "username")

    def clean_last_menstrual_period(self):
        return not_in_future(self.cleaned_data["last_menstrual_period"], "last menstrual period")


class ScreeningForm(BethesdaConsistencyMixin, forms.ModelForm):
    """The cytotechnologist's findings in Bethesda terms, checked by the report's consistency
    rules; the button pressed says where the case goes."""

    FINDINGS = ["adequacy", "transformation_zone", "quality_indicators", "unsatisfactory_kind",
                "unsatisfactory_reason", "interpretation", "organisms", "other_findings"]

    class Meta:
        model = ScreeningFindings
        fields = ["adequacy", "transformation_zone", "quality_indicators", "unsatisfactory_kind",
                  "unsatisfactory_reason", "interpretation", "organisms", "other_findings",
                  "comment"]
        labels = {"interpretation": "Provisional interpretation"}
        widgets = {"adequacy": forms.RadioSelect, "comment": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, patient_age=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.patient_age = patient_age
        self.fields["adequacy"].required = True
        self.fields["adequacy"].choices = self.fields["adequacy"].choices[1:]  # no blank
        self.fields["interpretation"].choices = [("", "—"), *CHOOSABLE_INTERPRETATIONS]

    def findings(self):
        return {name: self.cleaned_data[name] for name in self.FINDINGS}


class AssignForm(forms.Form):
    screener = forms.ModelChoiceField(queryset=User.objects.none(), empty_label=None)

    def __init__(self, *args, screeners, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["screener"].queryset = screeners


class ReasonForm(forms.Form):
    reason = forms.CharField(max_length=500, widget=forms.TextInput(attrs={"size": 60}),
                             help_text="Why: it is kept with the old value in the audit trail.")


def correction_form(model, field_names):
    """A form for correcting ``field_names`` of a ``model`` record, with a required reason;
    no date it takes may lie in the future."""
    dates = [name for name in field_names
             if model._meta.get_field(name).get_internal_type() == "DateField"]
    meta = type("Meta", (), {"model": model, "fields": field_names,
                             "widgets": {name: DATE for name in dates}})

    def clean(form):
        cleaned = super(form_class, form).clean()
        for name in dates:
            try:
                not_in_future(cleaned.get(name), model._meta.get_field(name).verbose_name)
            except forms.ValidationError as error:
                form.add_error(name, error)
        return cleaned

    attrs = {"Meta": meta, "clean": clean}
    if "other_risk_flags" in field_names:
        attrs["other_risk_flags"] = RequisitionForm.base_fields["other_risk_flags"]
    form_class = type(f"{model.__name__}CorrectionForm", (forms.ModelForm, ReasonForm), attrs)
    return form_class
