from accounts.roles import ADMINISTRATOR, DOCTOR, LAB_STAFF


def roles(request):
    user = request.user
    if not user.is_authenticated:
        return {}
    names = set(user.groups.values_list("name", flat=True))
    return {
        "is_doctor": DOCTOR in names,
        "is_lab_staff": LAB_STAFF in names,
        "is_administrator": ADMINISTRATOR in names or user.is_superuser,
    }
