from django.contrib import admin

from diagnostics.models import CellResult


@admin.register(CellResult)
class CellResultAdmin(admin.ModelAdmin):
    list_display = ["image", "model_version", "status", "predicted_class", "seconds_taken", "finished_at"]
    list_filter = ["status", "model_version", "predicted_class"]
    readonly_fields = [f.name for f in CellResult._meta.fields]
