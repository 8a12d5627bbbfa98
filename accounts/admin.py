from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.models import User

from accounts.models import SecurityAlert, StaffProfile

admin.site.unregister(User)


class StaffProfileInline(admin.StackedInline):
    model = StaffProfile
    can_delete = False
    verbose_name_plural = "Qualifications (printed with the signer's name on reports)"


@admin.register(User)
class RoleAwareUserAdmin(UserAdmin):
    """Administrators manage users and roles, but cannot hand out superuser rights."""

    inlines = [StaffProfileInline]

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        if not request.user.is_superuser:
            readonly += ["is_superuser", "user_permissions"]
        return readonly

    def has_change_permission(self, request, obj=None):
        # Changing a superuser (or their password) would be the same escalation.
        if obj is not None and obj.is_superuser and not request.user.is_superuser:
            return False
        return super().has_change_permission(request, obj)


@admin.register(SecurityAlert)
class SecurityAlertAdmin(admin.ModelAdmin):
    """Raised by accounts/security_alerts.py; read-only, like the log they summarise."""

    list_display = ["raised_at", "subject", "refusals", "window_minutes", "latest_event", "latest_path"]
    list_filter = ["latest_event"]
    search_fields = ["username", "ip_address"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser
