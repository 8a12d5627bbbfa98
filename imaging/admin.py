from django.contrib import admin

from accounts.audit import PatientReadsLoggedAdmin
from imaging.models import ImageAsset, Specimen, UploadBatch


@admin.register(Specimen)
class SpecimenAdmin(PatientReadsLoggedAdmin, admin.ModelAdmin):
    list_display = ["accession_number", "patient", "collected_on", "created_at"]
    search_fields = ["accession_number", "patient__mrn"]
    raw_id_fields = ["patient"]


@admin.register(ImageAsset)
class ImageAssetAdmin(PatientReadsLoggedAdmin, admin.ModelAdmin):
    list_display = ["original_name", "specimen", "image_format", "width", "height", "uploaded_at"]
    search_fields = ["original_name", "sha256", "specimen__accession_number"]
    readonly_fields = [f.name for f in ImageAsset._meta.fields]


@admin.register(UploadBatch)
class UploadBatchAdmin(admin.ModelAdmin):
    list_display = ["specimen", "uploaded_by", "created_at", "stored_count"]
    readonly_fields = [f.name for f in UploadBatch._meta.fields]
