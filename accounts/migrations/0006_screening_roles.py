from django.contrib.auth.management import create_permissions
from django.db import migrations

# "Doctor" becomes "Pathologist" (its members stay in it); Cytotechnologist and Clinician are
# new. Screeners (cytotechnologists and pathologists) see their labs' cases through a role
# permission (accounts/access.py); clinicians hold no global permission, only object
# permissions on the patients they order for.
RENAMED = ("Doctor", "Pathologist")
NEW_ROLES = ["Cytotechnologist", "Clinician"]
GRANTS = {
    "Cytotechnologist": ["cases.screen_case"],
    "Pathologist": ["cases.screen_case", "cases.assign_case"],
    "Lab staff": ["cases.add_correction", "imaging.delete_imageasset"],
    "Administrator": ["cases.add_lab", "cases.change_lab", "cases.view_lab"],
}


def grant_roles(Group, Permission):
    """Create the new roles and give each role its case permissions (also used by tests)."""
    Group.objects.filter(name=RENAMED[0]).update(name=RENAMED[1])
    for role in NEW_ROLES:
        Group.objects.get_or_create(name=role)
    for role, names in GRANTS.items():
        group, _ = Group.objects.get_or_create(name=role)
        for name in names:
            app_label, codename = name.split(".")
            group.permissions.add(
                Permission.objects.get(content_type__app_label=app_label, codename=codename))


def forward(apps, schema_editor):
    # Permissions are normally created after all migrations; the grants need them now.
    for app_label in ("cases", "imaging"):
        app_config = apps.get_app_config(app_label)
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    grant_roles(apps.get_model("auth", "Group"), apps.get_model("auth", "Permission"))


def backward(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Group.objects.filter(name__in=NEW_ROLES).delete()
    Group.objects.filter(name=RENAMED[1]).update(name=RENAMED[0])
    Permission = apps.get_model("auth", "Permission")
    for role, names in GRANTS.items():
        for group in Group.objects.filter(name=RENAMED[0] if role == RENAMED[1] else role):
            for name in names:
                app_label, codename = name.split(".")
                group.permissions.remove(*Permission.objects.filter(
                    content_type__app_label=app_label, codename=codename))


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0005_security_alerts"),
        ("cases", "0001_initial"),
    ]

    operations = [migrations.RunPython(forward, backward)]
