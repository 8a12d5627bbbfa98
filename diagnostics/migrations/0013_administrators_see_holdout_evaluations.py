from django.db import migrations

# Administrators read holdout evaluations before making a model version active (the admin's
# "make active" page shows the latest one); evaluate_classifier writes them, nobody edits.
CODENAME = "view_holdoutevaluation"
NAME = "Can view holdout evaluation"


def let_administrators_see_holdout_evaluations(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")
    content_type, _ = ContentType.objects.get_or_create(app_label="diagnostics",
                                                        model="holdoutevaluation")
    permission, _ = Permission.objects.get_or_create(
        content_type=content_type, codename=CODENAME, defaults={"name": NAME})
    for group in Group.objects.filter(name="Administrator"):
        group.permissions.add(permission)


def take_it_back(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    for group in Group.objects.filter(name="Administrator"):
        group.permissions.remove(*group.permissions.filter(
            content_type__app_label="diagnostics", codename=CODENAME))


class Migration(migrations.Migration):
    dependencies = [
        ("diagnostics", "0012_holdout_evaluation"),
        ("accounts", "0006_screening_roles"),
    ]

    operations = [migrations.RunPython(let_administrators_see_holdout_evaluations, take_it_back)]
