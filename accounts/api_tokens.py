"""API tokens end with the user's session, when the account locks, and when the password
changes, whichever door changed it (the account page, the admin, a shell's set_password)."""
from axes.signals import user_locked_out
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_out
from django.db.models.signals import post_save, pre_save
from django.dispatch import receiver
from rest_framework.authtoken.models import Token

from accounts.request_context import current_request
from accounts.security_log import log_security_event

User = get_user_model()


def revoke_api_tokens(user, reason):
    """Delete the user's API tokens; a line in the security log says why."""
    deleted, _ = Token.objects.filter(user=user).delete()
    if deleted:
        log_security_event("api_tokens_revoked", current_request(), username=user.get_username(),
                           reason=reason)
    return deleted


@receiver(user_logged_out)
def revoke_on_logout(sender, request, user, **kwargs):
    if user is not None:
        revoke_api_tokens(user, "logged out")


@receiver(user_locked_out)
def revoke_on_lockout(sender, request, username, **kwargs):
    for user in User.objects.filter(**{User.USERNAME_FIELD: username}):
        revoke_api_tokens(user, "locked out")


@receiver(pre_save, sender=User)
def notice_password_change(sender, instance, raw=False, update_fields=None, **kwargs):
    instance._api_tokens_stale = not raw and password_changed(instance, update_fields)


@receiver(post_save, sender=User)
def revoke_on_password_change(sender, instance, **kwargs):
    if getattr(instance, "_api_tokens_stale", False):
        instance._api_tokens_stale = False
        revoke_api_tokens(instance, "password changed")


def password_changed(user, update_fields):
    if user.pk is None or (update_fields is not None and "password" not in update_fields):
        return False
    # At login Django re-hashes a password whose hasher changed: a new hash of the same
    # password, saved with update_fields=["password"] and the raw password already cleared.
    if update_fields is not None and set(update_fields) == {"password"} and user._password is None:
        return False
    stored = User.objects.filter(pk=user.pk).values_list("password", flat=True).first()
    return stored is not None and stored != user.password
