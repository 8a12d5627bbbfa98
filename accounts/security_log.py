"""The security log (logger `celinsight.security`, var/security.log): failed logins,
lockouts, failed two-factor codes and refused requests, each with user, IP and path.

Every line is one JSON object, `{"time", "level", "event", "user", "ip", "path", ...}`
(accounts/log_format.py), with every value escaped: a username holding a newline cannot
write a line of its own.
"""
import logging

from axes.helpers import get_client_ip_address
from axes.signals import user_locked_out
from django.contrib.auth.signals import user_login_failed
from django.dispatch import receiver

from accounts.log_format import json_line
from accounts.request_context import serving

security_log = logging.getLogger("celinsight.security")


def log_security_event(event, request, username=None, **details):
    """Write one line: the event, who (the signed-in user, else ``username``), from which
    address, on which path, and any ``details`` (values of any type; all are escaped)."""
    if username is None:
        user = getattr(request, "user", None)
        username = user.get_username() if user is not None and user.is_authenticated else "-"
    ip_address = (get_client_ip_address(request) if request is not None else None) or "-"
    path = request.path if request is not None else "-"
    fields = {"event": event, "user": username or "-", "ip": ip_address, "path": path, **details}
    security_log.warning(json_line(fields), extra={"security_fields": fields})


@receiver(user_login_failed)
def log_failed_login(sender, credentials, request=None, **kwargs):
    log_security_event("login_failed", request, username=credentials.get("username"))


@receiver(user_locked_out)
def log_lockout(sender, request, username, ip_address, **kwargs):
    log_security_event("locked_out", request, username=username)


class PermissionDeniedLogMiddleware:
    """Logs every 403: PermissionDenied from a view, a refused admin action, a CSRF failure.

    It also makes the request known to code below the view that has none to hand
    (accounts.request_context), so what it logs or audits names the user and address.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        with serving(request):
            response = self.get_response(request)
        if response.status_code == 403:
            log_security_event("permission_denied", request)
        return response
