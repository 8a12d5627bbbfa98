from django.db import migrations

# Doctors held the global view permissions on specimens, images and results. No page needs
# them (accounts/access.py decides what a doctor sees, by object permissions), but the
# admin's lists honour them: a doctor flagged as staff saw every patient's records there.
REVOKED_FROM_DOCTORS = ["imaging.view_specimen", "imaging.view_imageasset",
                        "diagnostics.view_cellresult"]


def permissions(apps):
    Permission = apps.get_model("auth", "Permission")
    for name in REVOKED_FROM_DOCTORS:
        app_label, codename = name.split(".")
        yield Permission.objects.get(content_type__app_label=app_label, codename=codename)


def revoke_global_views(apps, schema_editor):
    for group in apps.get_model("auth", "Group").objects.filter(name="Doctor"):
        group.permissions.remove(*permissions(apps))


def restore_global_views(apps, schema_editor):
    for group in apps.get_model("auth", "Group").objects.filter(name="Doctor"):
        group.permissions.add(*permissions(apps))


class Migration(migrations.Migration):
    dependencies = [("accounts", "0003_gdpr_permission")]

    operations = [migrations.RunPython(revoke_global_views, restore_global_views)]
