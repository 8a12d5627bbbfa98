"""The three roles of CelInsight. Each is a Django group created by a data migration."""

DOCTOR = "Doctor"
LAB_STAFF = "Lab staff"
ADMINISTRATOR = "Administrator"

ALL_ROLES = (DOCTOR, LAB_STAFF, ADMINISTRATOR)

# Each role's permissions are set by the data migrations accounts/migrations/0001_roles.py
# and the later ones that change them (0002, 0003, 0004). The admin site is for the
# Administrator role only (accounts.two_factor.TwoFactorAdminSite).

