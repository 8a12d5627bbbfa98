from django import forms
from django.contrib import admin, messages
from django.http import HttpResponse
from django.template.response import TemplateResponse

from accounts.access import assigned_doctors, doctors, set_assigned_doctors
from accounts.audit import PatientReadsLoggedAdmin
from accounts.decorators import is_administrator
from patients import gdpr
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
class PatientAdmin(PatientReadsLoggedAdmin, admin.ModelAdmin):
    form = PatientAdminForm
    list_display = ["mrn", "full_name", "date_of_birth", "consent_given", "doctors"]
    search_fields = ["mrn", "full_name"]
    actions = ["export_patient_data", "erase_patient"]

    @admin.display(description="assigned doctors")
    def doctors(self, patient):
        return ", ".join(doctor.username for doctor in assigned_doctors(patient)) or "—"

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        set_assigned_doctors(form.instance, form.cleaned_data["assigned_doctors"])

    def has_gdpr_permission(self, request):
        return is_administrator(request.user) and request.user.has_perm(gdpr.GDPR_PERMISSION)

    @admin.action(description="GDPR: export all data about the patient (zip)", permissions=["gdpr"])
    def export_patient_data(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, "Select one patient to export.", messages.ERROR)
            return None
        patient = queryset.get()
        response = HttpResponse(gdpr.export_patient(patient, request.user), content_type="application/zip")
        response["Content-Disposition"] = f'attachment; filename="patient-{patient.pk}-export.zip"'
        return response

    @admin.action(description="GDPR: erase the patient and all their data", permissions=["gdpr"])
    def erase_patient(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, "Select one patient to erase.", messages.ERROR)
            return None
        patient = queryset.get()
        if request.POST.get("confirm_mrn") == patient.mrn:
            counts = gdpr.erase_patient(patient, request.user)
            self.message_user(request, (
                f"Patient {patient.mrn} was erased: {counts['specimens']} specimens, "
                f"{counts['images']} images, {counts['sign_offs']} sign-offs, "
                f"{counts['reviews']} reviews and {counts['files']} stored files deleted."
            ), messages.SUCCESS)
            return None
        records = gdpr.records_of(patient)
        context = {
            **self.admin_site.each_context(request), "opts": self.model._meta, "patient": patient,
            "counts": {kind: records[kind].count() for kind in records if kind != "patient"},
            "wrong_mrn": "confirm_mrn" in request.POST,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/patients/patient/gdpr_erase.html", context)
