"""The three roles of CelInsight. Each is a Django group created by a data migration."""

DOCTOR = "Doctor"
LAB_STAFF = "Lab staff"
ADMINISTRATOR = "Administrator"

ALL_ROLES = (DOCTOR, LAB_STAFF, ADMINISTRATOR)

# Model-level permissions each role holds. Doctors hold no global view of patients:
# they see the patients an administrator assigns to them (object permissions).
ROLE_PERMISSIONS = {
    DOCTOR: [
        "imaging.view_specimen",
        "imaging.view_imageasset",
        "diagnostics.view_cellresult",
    ],
    LAB_STAFF: [
        "patients.add_patient",
        "patients.change_patient",
        "patients.view_patient",
        "imaging.add_specimen",
        "imaging.view_specimen",
        "imaging.add_imageasset",
        "imaging.view_imageasset",
        "imaging.view_uploadbatch",
        "diagnostics.view_cellresult",
    ],
    ADMINISTRATOR: [
        "auth.add_user",
        "auth.change_user",
        "auth.view_user",
        "auth.view_group",
        "patients.add_patient",
        "patients.change_patient",
        "patients.view_patient",
        "imaging.view_specimen",
        "imaging.view_imageasset",
        "imaging.view_uploadbatch",
        "diagnostics.view_cellresult",
        "auditlog.view_logentry",
        "axes.view_accessattempt",
        "axes.delete_accessattempt",
        "axes.view_accessfailurelog",
    ],
}


def has_role(user, role):
    if not user.is_authenticated:
        return False
    return user.groups.filter(name=role).exists()
