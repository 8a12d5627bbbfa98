from django.apps import AppConfig


class ImagingConfig(AppConfig):
    name = "imaging"

    def ready(self):
        from auditlog.registry import auditlog

        from imaging.models import ImageAsset, Specimen, UploadBatch

        auditlog.register(Specimen)
        auditlog.register(ImageAsset)
        auditlog.register(UploadBatch)
