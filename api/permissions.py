"""Role checks of the REST API: the same model permissions the pages ask for.

Which records a user sees is not decided here but by accounts/access.py, through the
views' querysets: a record the user may not see is a 404, never a 403.
"""
from rest_framework.permissions import BasePermission


class RolePermission(BasePermission):
    """Signed-in users only; a method the view lists in ``required_permissions`` also needs
    that permission (``{"POST": "patients.add_patient"}``), or, for a rule the pages share
    with the API, a function of the user that says yes (``{"POST": may_review_cells}``);
    else 403."""

    def has_permission(self, request, view):
        if not (request.user and request.user.is_authenticated):
            return False
        needed = getattr(view, "required_permissions", {}).get(request.method)
        if needed is None:
            return True
        return needed(request.user) if callable(needed) else request.user.has_perm(needed)
