from django.contrib import admin

from cases.models import Lab


@admin.register(Lab)
class LabAdmin(admin.ModelAdmin):
    """Administrators set up labs, their members and policies; cases are worked on the pages."""

    list_display = ["name", "consent_required_for_screening", "cytotechnologist_may_release_nilm"]
    filter_horizontal = ["members"]
