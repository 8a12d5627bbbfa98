"""Keeping the security log readable under attack, and telling administrators about it.

Counts live in the cache (with CELINSIGHT_CACHE_URL, Redis: shared by every web process),
per *subject*: the signed-in user, else the client address. Windows are fixed (each
minute, each SECURITY_ALERT_WINDOW_MINUTES), not sliding.

- A subject writes at most SECURITY_LOG_LINES_PER_MINUTE refusal lines a minute: one more
  line says the rest are being counted, not written, and the subject's next line after
  that minute says how many were (accounts.security_log writes those lines).
- SECURITY_ALERT_THRESHOLD refusals of one subject within one window raise one alert: a
  SecurityAlert row (the dashboard shows it) and an email to the administrators.
"""
import logging
import time
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.mail import send_mail
from django.db.models import Q
from django.utils import timezone

from accounts.models import SecurityAlert
from accounts.roles import ADMINISTRATOR

logger = logging.getLogger(__name__)


def now():
    return time.time()


def count_in_window(key, window_seconds):
    """Add one to ``key``'s count in the current window of ``window_seconds``; the new count."""
    window_key = f"security:{key}:{window_seconds}:{int(now() // window_seconds)}"
    cache.add(window_key, 0, timeout=window_seconds + 60)
    try:
        return cache.incr(window_key)
    except ValueError:  # expired between add and incr
        cache.set(window_key, 1, timeout=window_seconds + 60)
        return 1


@dataclass
class LineBudget:
    write: bool  # write this line
    first_over: bool  # the first line over the limit: say that lines are being suppressed
    suppressed_before: int  # lines suppressed in earlier minutes, not reported yet


def spend_line(subject):
    """Whether the subject may write one more refusal line this minute."""
    limit = settings.SECURITY_LOG_LINES_PER_MINUTE
    count = count_in_window(f"lines:{subject}", 60)
    pending_key = f"security:suppressed:{subject}"
    if count > limit:
        cache.add(pending_key, 0, timeout=24 * 3600)
        cache.incr(pending_key)
        return LineBudget(write=False, first_over=count == limit + 1, suppressed_before=0)
    suppressed_before = cache.get(pending_key, 0)
    if suppressed_before:
        cache.delete(pending_key)
    return LineBudget(write=True, first_over=False, suppressed_before=suppressed_before)


def count_refusal(subject, username, ip_address, event, path):
    """Count one refusal; the SecurityAlert raised if it is the window's threshold-th."""
    window_minutes = settings.SECURITY_ALERT_WINDOW_MINUTES
    threshold = settings.SECURITY_ALERT_THRESHOLD
    if count_in_window(f"refusals:{subject}", window_minutes * 60) != threshold:
        return None
    alert = SecurityAlert.objects.create(
        username=username, ip_address=ip_address, refusals=threshold,
        window_minutes=window_minutes, latest_event=event, latest_path=path[:300],
    )
    mail_administrators(alert)
    return alert


def administrator_emails():
    """Active administrators (role or superuser) with an address, and settings.ADMINS."""
    users = get_user_model().objects.filter(is_active=True).filter(
        Q(is_superuser=True) | Q(groups__name=ADMINISTRATOR, is_staff=True)).exclude(email="")
    emails = set(users.values_list("email", flat=True))
    emails.update(email for _, email in settings.ADMINS)
    return sorted(emails)


def mail_administrators(alert):
    recipients = administrator_emails()
    if not recipients:
        logger.warning("Security alert %s: no administrator has an email address to send it to.",
                       alert.pk)
        return
    subject = (f"CelInsight security alert: {alert.subject} collected {alert.refusals} "
               f"refused requests in {alert.window_minutes} minutes")
    body = (
        f"{alert.subject.capitalize()} collected {alert.refusals} refused requests (records "
        f"it may not see, 401, 403 or 429 answers, failed logins or lockouts) within "
        f"{alert.window_minutes} minutes. The latest: {alert.latest_event} on "
        f"{alert.latest_path or '-'}.\n\n"
        f"This may be someone probing for records or guessing passwords. Read the security "
        f"log (var/security.log, one JSON object per line) for the details, and lock the "
        f"account or block the address if it is not explained. The dashboard lists recent "
        f"alerts; this one is sent once per {alert.window_minutes}-minute window.\n"
    )
    try:
        send_mail(subject, body, None, recipients)
    except Exception:  # the alert is on the dashboard even when mail is down
        logger.exception("Could not mail security alert %s to the administrators.", alert.pk)


ALERTS_PANEL_DAYS = 7
ALERTS_PANEL_SHOWN = 20


def recent_alerts_panel():
    """The administrators' panel of recent alerts (the dashboard's
    jinja2/accounts/_security_alerts.html)."""
    since = timezone.now() - timedelta(days=ALERTS_PANEL_DAYS)
    recent = SecurityAlert.objects.filter(raised_at__gte=since)
    return {"alerts": list(recent[:ALERTS_PANEL_SHOWN]), "total": recent.count(),
            "days": ALERTS_PANEL_DAYS}
