from django import forms
from django.contrib import admin

from accounts.access import assigned_doctors, doctors, set_assigned_doctors
from patients.models import Patient


class PatientAdminForm(forms.ModelForm):
    assigned_doctors = forms.ModelMultipleChoiceField(
        queryset=None, required=False, widget=admin.widgets.FilteredSelectMultiple("doctors", False),
        help_text="Doctors who may open this patient's record. Other doctors get 'not found'.",
    )

    class Meta:
        model = Patient
        fields = ["mrn", "full_name", "date_of_birth", "consent_given"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assigned_doctors"].queryset = doctors()
        if self.instance.pk:
            self.fields["assigned_doctors"].initial = assigned_doctors(self.instance)


@admin.register(Patient)
class PatientAdmin(admin.ModelAdmin):
    form = PatientAdminForm
    list_display = ["mrn", "full_name", "date_of_birth", "consent_given", "doctors"]
    search_fields = ["mrn", "full_name"]

    @admin.display(description="assigned doctors")
    def doctors(self, patient):
        return ", ".join(doctor.username for doctor in assigned_doctors(patient)) or "—"

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        set_assigned_doctors(form.instance, form.cleaned_data["assigned_doctors"])
