from django import forms

from patients.models import Patient


class PatientForm(forms.ModelForm):
    class Meta:
        model = Patient
        fields = ["mrn", "full_name", "date_of_birth", "consent_given"]
        widgets = {"date_of_birth": forms.DateInput(attrs={"type": "date"})}

    def clean_mrn(self):
        return self.cleaned_data["mrn"].strip().upper()
