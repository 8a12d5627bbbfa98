from accounts.roles import (ADMINISTRATOR, CLINICIAN, CYTOTECHNOLOGIST, LAB_STAFF,
                            PATHOLOGIST)


def roles(request):
    user = request.user
    if not user.is_authenticated:
        return {}
    names = set(user.groups.values_list("name", flat=True))
    return {
        "is_doctor": PATHOLOGIST in names,  # kept for templates written before the rename
        "is_pathologist": PATHOLOGIST in names,
        "is_cytotechnologist": CYTOTECHNOLOGIST in names,
        "is_clinician": CLINICIAN in names,
        "is_lab_staff": LAB_STAFF in names,
        "is_administrator": ADMINISTRATOR in names or user.is_superuser,
    }
