from functools import wraps

from django.core.exceptions import PermissionDenied

from accounts.backends import group_names
from accounts.roles import ADMINISTRATOR


def is_administrator(user):
    """Staff in the Administrator group, or a superuser."""
    if user.is_superuser:
        return True
    return user.is_staff and ADMINISTRATOR in group_names(user)


def administrator_required(view):
    """Let administrators through; everyone else gets 403, like permission_required."""
    @wraps(view)
    def checked_view(request, *args, **kwargs):
        if not is_administrator(request.user):
            raise PermissionDenied
        return view(request, *args, **kwargs)
    return checked_view
