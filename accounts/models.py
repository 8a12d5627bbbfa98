from django.db import models


class SecurityAlert(models.Model):
    """One user or address that collected many refusals (denied records, 401, 403, 429,
    failed logins, lockouts) within one window: raised once per window by
    accounts/security_alerts.py, mailed to the administrators, shown on the dashboard."""

    raised_at = models.DateTimeField(auto_now_add=True, db_index=True)
    username = models.CharField(max_length=150, blank=True,
                                help_text="The signed-in user who was refused; empty for anonymous requests.")
    ip_address = models.CharField("address", max_length=64, blank=True)
    refusals = models.PositiveIntegerField(help_text="Refusals counted when the alert was raised.")
    window_minutes = models.PositiveIntegerField()
    latest_event = models.CharField(max_length=40)
    latest_path = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-raised_at"]

    def __str__(self):
        return f"{self.subject} at {self.raised_at:%Y-%m-%d %H:%M}"

    @property
    def subject(self):
        return f"user {self.username}" if self.username else f"address {self.ip_address}"


class StaffProfile(models.Model):
    """What a signed report says of its signer beyond the name: qualifications and the
    professional registration (set by an administrator on the user's admin page)."""

    user = models.OneToOneField("auth.User", on_delete=models.CASCADE, related_name="profile")
    qualifications = models.CharField(
        max_length=120, blank=True,
        help_text='As printed under a signature, e.g. "MD, FRCPath" or "CT(ASCP)".')
    registration = models.CharField(
        "professional registration", max_length=60, blank=True,
        help_text='The body and number, e.g. "GMC 1234567".')

    def __str__(self):
        return f"Profile of {self.user}"
