from django.apps import AppConfig


class PatientsConfig(AppConfig):
    name = "patients"

    def ready(self):
        from auditlog.registry import auditlog

        from patients.models import Patient

        auditlog.register(Patient)
