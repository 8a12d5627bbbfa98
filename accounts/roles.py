"""The three roles of CelInsight. Each is a Django group created by a data migration."""

DOCTOR = "Doctor"
LAB_STAFF = "Lab staff"
ADMINISTRATOR = "Administrator"

ALL_ROLES = (DOCTOR, LAB_STAFF, ADMINISTRATOR)

# Each role's permissions are set by the data migration accounts/0001_roles.py.

