"""The five roles of CelInsight. Each is a Django group created by a data migration.

Lab staff accession specimens and upload their images; cytotechnologists screen the lab's
cases first; pathologists review what the screeners send on and sign out; clinicians (the
ordering doctors) read their own patients' histories and signed reports; administrators
manage users and models.
"""

LAB_STAFF = "Lab staff"
CYTOTECHNOLOGIST = "Cytotechnologist"
PATHOLOGIST = "Pathologist"
CLINICIAN = "Clinician"
ADMINISTRATOR = "Administrator"

ALL_ROLES = (LAB_STAFF, CYTOTECHNOLOGIST, PATHOLOGIST, CLINICIAN, ADMINISTRATOR)

# Each role's permissions are set by the data migrations accounts/migrations/0001_roles.py
# and the later ones that change them (0002, 0003, 0004, 0006: "Doctor" became
# "Pathologist"; Cytotechnologist and Clinician added). The admin site is for the
# Administrator role only (accounts.two_factor.TwoFactorAdminSite).
