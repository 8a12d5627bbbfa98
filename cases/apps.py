from django.apps import AppConfig


class CasesConfig(AppConfig):
    name = "cases"
    verbose_name = "Cytology cases"

    def ready(self):
        from auditlog.registry import auditlog
        from django.db.models.signals import post_save

        from cases.models import Case, Correction, Disagreement, HandOver, Lab, Requisition
        from cases.routing import record_reopening, record_sign_out
        from diagnostics.models import SpecimenReopening, SpecimenSignOff

        # A sign-off closes the case and compares the two tiers (cases.routing).
        post_save.connect(record_sign_out, sender=SpecimenSignOff,
                          dispatch_uid="cases.record_sign_out")
        # Re-opening a signed specimen gives its case back to a pathologist.
        post_save.connect(record_reopening, sender=SpecimenReopening,
                          dispatch_uid="cases.record_reopening")
        for model in (Lab, Requisition, Case, HandOver, Correction, Disagreement):
            auditlog.register(model)
