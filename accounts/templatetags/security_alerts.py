from datetime import timedelta

from django import template
from django.utils import timezone

from accounts.models import SecurityAlert

register = template.Library()

DAYS = 7
SHOWN = 20


@register.inclusion_tag("accounts/_security_alerts.html")
def security_alerts_panel():
    """The administrators' panel of recent security alerts (accounts/security_alerts.py)."""
    since = timezone.now() - timedelta(days=DAYS)
    recent = SecurityAlert.objects.filter(raised_at__gte=since)
    return {"alerts": list(recent[:SHOWN]), "total": recent.count(), "days": DAYS}
