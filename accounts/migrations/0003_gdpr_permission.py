from django.db import migrations

# The permission to export and erase a patient's data (patients/gdpr.py). It lives here,
# with the other role changes, and is given to the Administrator role only.
CODENAME = "export_erase_patient"
NAME = "Can export and erase all data about a patient (GDPR)"


def add_gdpr_permission(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")
    content_type, _ = ContentType.objects.get_or_create(app_label="patients", model="patient")
    permission, _ = Permission.objects.get_or_create(
        content_type=content_type, codename=CODENAME, defaults={"name": NAME}
    )
    Group.objects.get(name="Administrator").permissions.add(permission)


def remove_gdpr_permission(apps, schema_editor):
    apps.get_model("auth", "Permission").objects.filter(
        content_type__app_label="patients", codename=CODENAME
    ).delete()


class Migration(migrations.Migration):
    dependencies = [("accounts", "0002_doctors_sign_off")]

    operations = [migrations.RunPython(add_gdpr_permission, remove_gdpr_permission)]
