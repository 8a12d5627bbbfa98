from django.contrib.auth.management import create_permissions
from django.db import migrations

SIGN_OFF = ("diagnostics", "sign_off_specimen")
ROLES_THAT_SIGN_OFF = ["Doctor"]


def grant_sign_off(apps, schema_editor):
    # Permissions are normally created after all migrations; the grant needs this one now.
    app_config = apps.get_app_config("diagnostics")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    app_label, codename = SIGN_OFF
    permission = Permission.objects.get(content_type__app_label=app_label, codename=codename)
    for group in Group.objects.filter(name__in=ROLES_THAT_SIGN_OFF):
        group.permissions.add(permission)


def revoke_sign_off(apps, schema_editor):
    Permission = apps.get_model("auth", "Permission")
    app_label, codename = SIGN_OFF
    for permission in Permission.objects.filter(content_type__app_label=app_label, codename=codename):
        permission.group_set.clear()


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_roles"),
        ("diagnostics", "0003_review_and_sign_off"),
    ]

    operations = [migrations.RunPython(grant_sign_off, revoke_sign_off)]
