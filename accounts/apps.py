from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts and roles"

    def ready(self):
        from accounts import security_log  # noqa: F401  connects the security log's receivers
        from accounts import audit  # noqa: F401  names API users in the audit log
