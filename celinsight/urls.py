from django.contrib import admin
from django.urls import include, path

admin.site.site_header = "CelInsight administration"
admin.site.site_title = "CelInsight"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("accounts.urls")),
    path("patients/", include("patients.urls")),
    path("", include("imaging.urls")),
    path("", include("diagnostics.urls")),
]
