"""The security log (logger `celinsight.security`, var/security.log): failed logins,
lockouts, failed two-factor codes and refused requests (records a user may not see, 401,
403 and 429 answers), each with user, IP and path.

Every line is one JSON object, `{"time", "level", "event", "user", "ip", "path", ...}`
(accounts/log_format.py), with every value escaped: a username holding a newline cannot
write a line of its own. Refusals are rate-limited per user or address, and many of them
raise an alert to the administrators (accounts/security_alerts.py).
"""
import logging

from axes.helpers import get_client_ip_address
from axes.signals import user_locked_out
from django.conf import settings
from django.contrib.auth.signals import user_login_failed
from django.dispatch import receiver

from accounts import security_alerts
from accounts.log_format import json_line
from accounts.request_context import serving

security_log = logging.getLogger("celinsight.security")

# Events that count towards an alert; all but lockouts are also rate-limited in the log.
REFUSALS = frozenset({"access_denied", "permission_denied", "unauthenticated",
                      "too_many_requests", "login_failed", "otp_failed", "locked_out"})
NEVER_SUPPRESSED = frozenset({"locked_out"})
REFUSAL_STATUSES = {401: "unauthenticated", 403: "permission_denied", 429: "too_many_requests"}


def log_security_event(event, request, username=None, **details):
    """Write one line: the event, who (the signed-in user, else ``username``), from which
    address, on which path, and any ``details`` (values of any type; all are escaped)."""
    signed_in = signed_in_username(request)
    ip_address = (get_client_ip_address(request) if request is not None else None) or "-"
    path = request.path if request is not None else "-"
    fields = {"event": event, "user": username or signed_in or "-", "ip": ip_address,
              "path": path, **details}
    if request is None or event not in REFUSALS:
        write_line(fields)
        return
    subject = f"user:{signed_in}" if signed_in else f"address:{ip_address}"
    alert = security_alerts.count_refusal(subject, signed_in or "", ip_address, event, path)
    if event in NEVER_SUPPRESSED or within_line_budget(subject, fields):
        write_line(fields)
    if alert is not None:
        write_line({**fields, "event": "alert_raised", "alert_id": alert.pk,
                    "refusals": alert.refusals, "window_minutes": alert.window_minutes})


def within_line_budget(subject, fields):
    """Whether this refusal line may be written; writes the lines that say what was not."""
    budget = security_alerts.spend_line(subject)
    who = {key: fields[key] for key in ("user", "ip", "path")}
    if budget.suppressed_before:
        write_line({"event": "log_suppressed", **who, "suppressed": budget.suppressed_before})
    if budget.first_over:
        write_line({"event": "log_rate_limited", **who,
                    "limit_per_minute": settings.SECURITY_LOG_LINES_PER_MINUTE,
                    "note": "further refusals of this user or address are counted, not "
                            "written, until the minute ends"})
    return budget.write


def write_line(fields):
    security_log.warning(json_line(fields), extra={"security_fields": fields})


def signed_in_username(request):
    user = getattr(request, "user", None)
    return user.get_username() if user is not None and user.is_authenticated else None


@receiver(user_login_failed)
def log_failed_login(sender, credentials, request=None, **kwargs):
    log_security_event("login_failed", request, username=credentials.get("username"))


@receiver(user_locked_out)
def log_lockout(sender, request, username, ip_address, **kwargs):
    log_security_event("locked_out", request, username=username)


class PermissionDeniedLogMiddleware:
    """Logs every refused request: 403 (PermissionDenied from a view, a refused admin
    action, a CSRF failure), 401 and 429 (the API's missing or bad credentials, throttling).
    A 404 for a record the user may not see is logged where it is decided, in
    accounts/access.py: a 404 alone may be a mistyped address.

    It also makes the request known to code below the view that has none to hand
    (accounts.request_context), so what it logs or audits names the user and address.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        with serving(request):
            response = self.get_response(request)
            if response.status_code in REFUSAL_STATUSES:
                log_security_event(REFUSAL_STATUSES[response.status_code], request,
                                   status=response.status_code)
        return response
