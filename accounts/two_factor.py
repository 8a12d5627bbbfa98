"""Two-factor login with TOTP (django-otp): the login form's code field, the set-up page,
and the admin site that admits only verified staff when CELINSIGHT_REQUIRE_ADMIN_OTP is on."""
import base64

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.signals import user_login_failed
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django_otp import devices_for_user, match_token
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.decorators import is_administrator
from accounts.security_log import log_security_event


class LoginForm(AuthenticationForm):
    """Username and password, then the authenticator code for users who set one up."""

    otp_token = forms.CharField(
        label="Authentication code", required=False, max_length=10,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )

    def clean(self):
        cleaned_data = super().clean()  # checks the password; django-axes counts failures
        user = self.get_user()
        self.otp_device = None
        if user is None or not any(devices_for_user(user, confirmed=True)):
            return cleaned_data
        token = cleaned_data.get("otp_token", "").strip()
        if not token:
            raise ValidationError(
                "Two-factor login is on for this account: enter the 6-digit code from your "
                "authenticator app as well.", code="otp_required",
            )
        self.otp_device = match_token(user, token)
        if self.otp_device is None:
            # Counted like a wrong password, so guessing codes also ends in a lockout.
            log_security_event("otp_failed", self.request, username=user.get_username())
            user_login_failed.send(
                sender=__name__, credentials={"username": user.get_username()}, request=self.request
            )
            raise ValidationError(
                "That authentication code is wrong or has expired. Enter the code your "
                "authenticator app shows now.", code="otp_invalid",
            )
        return cleaned_data


def pending_device(user):
    """The TOTP device being set up: created unconfirmed, confirmed by its first valid code."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    return device or TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=False)


def two_factor_setup(request):
    """Set up an authenticator app, or verify this session with one already set up."""
    user = request.user
    confirmed = list(devices_for_user(user, confirmed=True))
    device = None if confirmed else pending_device(user)
    error = None
    if request.method == "POST" and not user.is_verified():
        token = request.POST.get("otp_token", "").strip()
        verified = match_token(user, token) if confirmed else (device if device.verify_token(token) else None)
        if verified is not None:
            if not verified.confirmed:
                verified.confirmed = True
                verified.save(update_fields=["confirmed"])
            otp_login(request, verified)
            messages.success(request, "Two-factor login is on: from now on enter a code after your password.")
            return redirect("two_factor_setup")
        log_security_event("otp_failed", request)
        error = "That code is wrong or has expired. Enter the code your authenticator app shows now."
    context = {"confirmed": bool(confirmed), "verified": user.is_verified(), "error": error}
    if device is not None:
        context["otpauth_uri"] = device.config_url
        context["secret"] = base64.b32encode(device.bin_key).decode()
    return render(request, "accounts/two_factor.html", context)


class TwoFactorAdminSite(admin.AdminSite):
    """The admin site: administrators only (the Administrator role or superusers) and, with
    CELINSIGHT_REQUIRE_ADMIN_OTP on, only once verified by a code.

    The admin's lists know nothing of object permissions: a doctor or lab staff member
    flagged as staff would see every patient's records there. They get 403 instead.
    Its login page sends people to the main login view, which asks for the code: the
    admin's own form knows nothing of two-factor login.
    """

    def has_permission(self, request):
        if not is_administrator(request.user):
            return False
        if settings.CELINSIGHT_REQUIRE_ADMIN_OTP and not request.user.is_verified():
            return False
        return super().has_permission(request)

    def login(self, request, extra_context=None):
        # The admin's own password form is never shown: it would log in without the code.
        if not request.user.is_authenticated:
            return redirect_to_login(request.GET.get("next") or reverse("admin:index"))
        if self.has_permission(request):
            return redirect("admin:index")
        if is_administrator(request.user) and request.user.is_active:
            messages.warning(
                request, "The administration site needs two-factor login: set up or enter your "
                "authenticator code here first.",
            )
            return redirect("two_factor_setup")
        raise PermissionDenied
