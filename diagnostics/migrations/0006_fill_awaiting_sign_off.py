"""Mark the specimens that await a sign-off (classified cells, none signed) in existing data."""
from django.db import migrations
from django.db.models import Exists, OuterRef


def mark_specimens_awaiting_sign_off(apps, schema_editor):
    Specimen = apps.get_model("imaging", "Specimen")
    CellResult = apps.get_model("diagnostics", "CellResult")
    SpecimenSignOff = apps.get_model("diagnostics", "SpecimenSignOff")
    classified = CellResult.objects.filter(image__specimen=OuterRef("pk"), status="done")
    signed_off = SpecimenSignOff.objects.filter(specimen=OuterRef("pk"))
    Specimen.objects.filter(Exists(classified), ~Exists(signed_off)).update(
        awaiting_sign_off=True)


class Migration(migrations.Migration):

    dependencies = [
        ("diagnostics", "0005_result_indexes"),
        ("imaging", "0004_specimen_awaiting_sign_off"),
    ]

    operations = [
        migrations.RunPython(mark_specimens_awaiting_sign_off, migrations.RunPython.noop),
    ]
