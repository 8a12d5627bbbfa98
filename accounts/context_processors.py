from accounts.backends import group_names
from accounts.roles import (ADMINISTRATOR, CLINICIAN, CYTOTECHNOLOGIST, LAB_STAFF,
                            PATHOLOGIST)


def roles(request):
    user = request.user
    if not user.is_authenticated:
        return {}
    names = group_names(user)
    return {
        "is_doctor": PATHOLOGIST in names,  # kept for templates written before the rename
        "is_pathologist": PATHOLOGIST in names,
        "is_cytotechnologist": CYTOTECHNOLOGIST in names,
        "is_clinician": CLINICIAN in names,
        "is_lab_staff": LAB_STAFF in names,
        "is_administrator": ADMINISTRATOR in names or user.is_superuser,
    }
