from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts and roles"

    def ready(self):
        from accounts import security_log  # noqa: F401  connects the security log's receivers
        from accounts import audit  # noqa: F401  names API users in the audit log
        from accounts import api_tokens  # noqa: F401  connects the revocation of API tokens
        from accounts import permission_audit  # connects the audit of access grants

        permission_audit.audit_bulk_grants()

        from auditlog.registry import auditlog

        from accounts.models import StaffProfile
        auditlog.register(StaffProfile)  # what reports print of their signers
