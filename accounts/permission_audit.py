"""The audit trail of access: every grant and revocation of an object permission (a doctor
assigned to a patient, or unassigned) is a django-auditlog entry on the record concerned,
with the actor, whichever door it came through: the admin, the API, or a shell calling
guardian's assign_perm / remove_perm.

Single grants and all revocations go through Django's model signals. guardian's bulk forms
(assign_perm with a queryset or a list of users) use bulk_create, which sends no signal:
``audit_bulk_grants`` wraps guardian's manager so that those are recorded too.
"""
import getpass

from auditlog.context import auditlog_disabled
from auditlog.models import LogEntry
from django.db.models import Manager
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from guardian.managers import BaseObjectPermissionManager
from guardian.models import GroupObjectPermission, UserObjectPermission

from accounts.request_context import current_request

GRANTED, REVOKED = "granted", "revoked"
OBJECT_PERMISSION_MODELS = (UserObjectPermission, GroupObjectPermission)


def holder_of(row):
    """("user", username, id) or ("group", name, id): who the permission is for."""
    if isinstance(row, UserObjectPermission):
        return "user", row.user.get_username(), row.user_id
    return "group", row.group.name, row.group_id


def signed_in_user():
    """The signed-in user of the request being served (session or API token), or None.

    Without a request, auditlog's own hook fills in the actor a script named with
    ``auditlog.context.set_actor``, while that block runs.
    """
    user = getattr(current_request(), "user", None)
    return user if user is not None and user.is_authenticated else None


def operating_system_user():
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (some containers)
        return "unknown"


def record_access_change(row, change):
    """One audit entry for a granted or revoked object permission."""
    if auditlog_disabled.get():  # a GDPR erasure or a restore: they log on their own terms
        return
    kind, name, holder_id = holder_of(row)
    permission = f"{row.permission.content_type.app_label}.{row.permission.codename}"
    description = f"{row.permission.codename} for {kind} {name}"
    details = {"object_permission": change, "permission": permission, kind: name,
               f"{kind}_id": holder_id}
    if current_request() is None:
        details.update(via="shell or script", os_user=operating_system_user())
    else:
        details["via"] = "web request"
    # The entry belongs to the record (a patient's trail shows who may see it); a record
    # already deleted leaves the entry on the permission row instead.
    target = row.content_object or row
    LogEntry.objects.log_create(
        target, force_log=True, action=LogEntry.Action.UPDATE, actor=signed_in_user(),
        changes={"access": ["", description] if change == GRANTED else [description, ""]},
        additional_data=details,
    )


@receiver(post_save, sender=UserObjectPermission)
@receiver(post_save, sender=GroupObjectPermission)
def audit_grant(sender, instance, created, raw=False, **kwargs):
    if created and not raw:
        record_access_change(instance, GRANTED)


@receiver(post_delete, sender=UserObjectPermission)
@receiver(post_delete, sender=GroupObjectPermission)
def audit_revocation(sender, instance, **kwargs):
    record_access_change(instance, REVOKED)


def permission_key(row):
    holder_id = row.user_id if isinstance(row, UserObjectPermission) else row.group_id
    return holder_id, row.permission_id, row.content_type_id, str(row.object_pk)


def keys_held(model, rows):
    """permission_key of each of ``rows`` that the database holds already."""
    holder = "user_id" if model is UserObjectPermission else "group_id"
    held = model.objects.filter(
        **{f"{holder}__in": {getattr(row, holder) for row in rows}},
        permission_id__in={row.permission_id for row in rows},
        content_type_id__in={row.content_type_id for row in rows},
        object_pk__in={str(row.object_pk) for row in rows},
    )
    return {permission_key(row) for row in held}


def audited_bulk_create(self, objs, *args, **kwargs):
    rows = list(objs)
    held_before = keys_held(self.model, rows) if rows else set()
    created = Manager.bulk_create(self, rows, *args, **kwargs)
    for row in rows:  # with ignore_conflicts, rows already held were not inserted
        if permission_key(row) not in held_before:
            record_access_change(row, GRANTED)
    return created


def audit_bulk_grants():
    """Make guardian's bulk grants (bulk_create, no signals) leave audit entries too."""
    BaseObjectPermissionManager.bulk_create = audited_bulk_create
