from django.contrib import admin
from django.urls import include, path

from accounts.two_factor import TwoFactorAdminSite

admin.site.__class__ = TwoFactorAdminSite  # two-factor login for the admin when required
admin.site.site_header = "CelInsight administration"
admin.site.site_title = "CelInsight"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include("api.urls")),
    path("", include("accounts.urls")),
    path("patients/", include("patients.urls")),
    path("", include("imaging.urls")),
    path("", include("diagnostics.urls")),
    path("", include("cases.urls")),
]
