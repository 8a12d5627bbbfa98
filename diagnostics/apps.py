from django.apps import AppConfig


class DiagnosticsConfig(AppConfig):
    name = "diagnostics"

    def ready(self):
        from diagnostics import checks  # noqa: F401  (registers the system checks)
        from auditlog.registry import auditlog

        from diagnostics.models import (
            CellResult, CellReview, HoldoutEvaluation, SpecimenReopening, SpecimenSignOff,
        )

        auditlog.register(CellResult)
        auditlog.register(CellReview)
        auditlog.register(SpecimenSignOff)
        auditlog.register(SpecimenReopening)
        auditlog.register(HoldoutEvaluation)
