from django import forms

from cases.dates import not_in_future
from patients.models import Patient


class PatientForm(forms.ModelForm):
    class Meta:
        model = Patient
        fields = ["mrn", "full_name", "date_of_birth", "consent_given"]
        widgets = {"date_of_birth": forms.DateInput(attrs={"type": "date"})}

    def clean_mrn(self):
        return self.cleaned_data["mrn"].strip().upper()

    def clean_date_of_birth(self):
        return not_in_future(self.cleaned_data["date_of_birth"], "date of birth")
