"""Whether a user holds one patient, in one query: a grant of a permission on it
(django-guardian's rows: the user's own or one of their groups'), or, for screeners, a case of
the patient in one of their labs.

Asked through guardian (``user.has_perm(perm, patient)``) and the cases, this took three
queries built by the ORM, about a seventh of the specimen page's CPU. The tables are named
from the models, and permission and content type are matched by name, so the query needs
no cached ids.
"""
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.models import BigIntegerField, Q
from django.db.models.functions import Cast
from guardian.models import GroupObjectPermission, UserObjectPermission

from cases.models import Case, Lab
from imaging.models import Specimen
from patients.models import Patient


def _granted_sql(grants, holder_join, holder_column):
    permission = Permission._meta.db_table
    content_type = ContentType._meta.db_table
    return (
        f"EXISTS (SELECT 1 FROM {grants} g {holder_join} "
        f"JOIN {permission} p ON p.id = g.permission_id "
        f"JOIN {content_type} ct ON ct.id = g.content_type_id "
        f"WHERE {holder_column} = %s AND p.codename = %s AND ct.app_label = %s "
        f"AND ct.model = %s AND g.object_pk = %s)")


def _holds_sql(through_labs):
    user_groups = Group.user_set.through._meta.db_table
    conditions = [
        _granted_sql(UserObjectPermission._meta.db_table, "", "g.user_id"),
        _granted_sql(GroupObjectPermission._meta.db_table,
                     f"JOIN {user_groups} ug ON ug.group_id = g.group_id", "ug.user_id"),
    ]
    if through_labs:
        members = Lab.members.through._meta.db_table
        conditions.append(
            f"EXISTS (SELECT 1 FROM {Case._meta.db_table} c "
            f"JOIN {Specimen._meta.db_table} s ON s.id = c.specimen_id "
            f"JOIN {members} m ON m.lab_id = c.lab_id "
            f"WHERE s.patient_id = %s AND m.user_id = %s)")
    return "SELECT " + " OR ".join(conditions)


def holds_patient(user, patient, permission, through_labs):
    """``permission``: "app_label.codename", granted on the patient."""
    meta = Patient._meta
    codename = permission.split(".")[1]
    grant = [user.pk, codename, meta.app_label, meta.model_name, str(patient.pk)]
    params = grant * 2 + ([patient.pk, user.pk] if through_labs else [])
    with connection.cursor() as cursor:
        cursor.execute(_holds_sql(through_labs), params)
        return bool(cursor.fetchone()[0])


def granted_patients(user, permission, field="patient_id"):
    """A condition on ``field`` (a patient's key): the patients on which the user, or one of
    their groups, holds ``permission``. The grants' keys are read as numbers, so the list is
    matched on its own index; guardian's ``get_objects_for_user`` matched every patient's key
    as text against them (a scan of all patients, 5 ms of the worklist's count)."""
    app_label, codename = permission.split(".")
    on_patients = {"permission__codename": codename, "content_type__app_label": app_label,
                   "content_type__model": Patient._meta.model_name}

    users = UserObjectPermission.objects.filter(user=user, **on_patients)
    groups = GroupObjectPermission.objects.filter(group__user=user, **on_patients)
    return Q(**{f"{field}__in": keys(users)}) | Q(**{f"{field}__in": keys(groups)})


def keys(grants):
    """The grants' object keys as numbers (guardian stores them as text)."""
    return grants.annotate(key=Cast("object_pk", BigIntegerField())).values("key")
