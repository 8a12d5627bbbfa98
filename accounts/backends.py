"""Django's ModelBackend, reading a user's permissions and group names in one query.

Every page asks for the user's permissions (the menu, the views' checks) and their roles (the
group names the header shows): ModelBackend reads the user's own permissions and their groups'
in two queries, and the roles were a third, on every request. One UNION query loads all three
once per request, on the request's user object, as ModelBackend caches its own: nothing is
kept between requests, so a permission taken away applies to the very next request.
"""
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection

from celinsight.compiled_queries import CompiledQuery

PERMISSION, GROUP = "p", "g"


def _access_sql():
    permission = Permission._meta.db_table
    content_type = ContentType._meta.db_table
    user_permissions = Permission.user_set.through._meta.db_table
    group_permissions = Permission.group_set.through._meta.db_table
    user_groups = Group.user_set.through._meta.db_table
    group = Group._meta.db_table
    named = (f"SELECT '{PERMISSION}', ct.app_label || '.' || p.codename FROM {permission} p "
             f"JOIN {content_type} ct ON ct.id = p.content_type_id ")
    return (
        named + f"JOIN {user_permissions} up ON up.permission_id = p.id WHERE up.user_id = %s "
        "UNION ALL " +
        named + f"JOIN {group_permissions} gp ON gp.permission_id = p.id "
                f"JOIN {user_groups} ug ON ug.group_id = gp.group_id WHERE ug.user_id = %s "
        "UNION ALL "
        f"SELECT '{GROUP}', g.name FROM {group} g "
        f"JOIN {user_groups} ug ON ug.group_id = g.id WHERE ug.user_id = %s"
    )


def load_access(user):
    """Set ``user._perm_cache`` (ModelBackend's: "app_label.codename" of every permission,
    direct or through a group) and ``user._group_names``, from one query."""
    with connection.cursor() as cursor:
        cursor.execute(_access_sql(), [user.pk] * 3)
        rows = cursor.fetchall()
    user._group_names = frozenset(name for kind, name in rows if kind == GROUP)
    if not user.is_superuser:  # a superuser's are every permission (ModelBackend's rule)
        user._perm_cache = {name for kind, name in rows if kind == PERMISSION}


def group_names(user):
    """The names of the user's groups (their roles), read once per request."""
    if not user.is_authenticated:
        return frozenset()
    if not hasattr(user, "_group_names"):
        load_access(user)
    return user._group_names


USER_BY_KEY = CompiledQuery(
    lambda key: get_user_model()._default_manager.filter(pk=key).order_by("pk")[:1], -1)


class OneQueryModelBackend(ModelBackend):
    def get_user(self, user_id):
        """ModelBackend's, the query compiled once (every request reads its user)."""
        user = USER_BY_KEY.first(user_id)
        return user if user is not None and self.user_can_authenticate(user) else None

    def get_all_permissions(self, user_obj, obj=None):
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        if not hasattr(user_obj, "_perm_cache"):
            load_access(user_obj)
        if not hasattr(user_obj, "_perm_cache"):  # a superuser: ModelBackend lists them all
            return super().get_all_permissions(user_obj)
        return user_obj._perm_cache
