from django.apps import AppConfig


class ImagingConfig(AppConfig):
    name = "imaging"

    def ready(self):
        from auditlog.registry import auditlog
        from django.db.models.signals import post_delete

        from imaging.models import ImageAsset, Specimen, UploadBatch
        from imaging.thumbnails import delete_thumbnail_of_deleted_image

        post_delete.connect(delete_thumbnail_of_deleted_image, sender=ImageAsset,
                            dispatch_uid="imaging.delete_thumbnail_of_deleted_image")

        auditlog.register(Specimen)
        auditlog.register(ImageAsset)
        auditlog.register(UploadBatch)
