from django.contrib.auth.management import create_permissions
from django.db import migrations

# Model-level permissions of each role. Doctors hold no global view of patients: they see
# the patients an administrator assigns to them (object permissions). Later changes to
# roles need a migration of their own.
ROLE_PERMISSIONS = {
    "Doctor": [
        "imaging.view_specimen", "imaging.view_imageasset", "diagnostics.view_cellresult",
    ],
    "Lab staff": [
        "patients.add_patient", "patients.change_patient", "patients.view_patient",
        "imaging.add_specimen", "imaging.view_specimen", "imaging.add_imageasset",
        "imaging.view_imageasset", "imaging.view_uploadbatch", "diagnostics.view_cellresult",
    ],
    "Administrator": [
        "auth.add_user", "auth.change_user", "auth.view_user", "auth.view_group",
        "patients.add_patient", "patients.change_patient", "patients.view_patient",
        "imaging.view_specimen", "imaging.view_imageasset", "imaging.view_uploadbatch",
        "diagnostics.view_cellresult", "diagnostics.view_modelversion",
        "diagnostics.change_modelversion", "auditlog.view_logentry",
        "axes.view_accessattempt", "axes.delete_accessattempt", "axes.view_accessfailurelog",
    ],
}


def create_role_groups(apps, schema_editor):
    # Permissions are normally created after all migrations; the groups need them now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, permission_names in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        for name in permission_names:
            app_label, codename = name.split(".")
            group.permissions.add(
                Permission.objects.get(content_type__app_label=app_label, codename=codename)
            )


def remove_role_groups(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=ROLE_PERMISSIONS).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("auditlog", "__latest__"),
        ("axes", "__latest__"),
        ("patients", "0001_initial"),
        ("imaging", "0001_initial"),
        ("diagnostics", "0001_initial"),
    ]

    operations = [migrations.RunPython(create_role_groups, remove_role_groups)]
