"""Names stored before imaging/names.py: their bidirectional controls replaced too, so no
page or download shows "x\u202eexe.png" as "xgnp.exe"."""
from django.db import migrations

from imaging.names import BIDI_CONTROLS, neutralise_bidi


def neutralise_stored_names(apps, schema_editor):
    ImageAsset = apps.get_model("imaging", "ImageAsset")
    for image in ImageAsset.objects.filter(original_name__regex=BIDI_CONTROLS.pattern).only(
            "original_name"):
        image.original_name = neutralise_bidi(image.original_name)
        image.save(update_fields=["original_name"])


class Migration(migrations.Migration):
    dependencies = [("imaging", "0004_specimen_awaiting_sign_off")]
    operations = [migrations.RunPython(neutralise_stored_names, migrations.RunPython.noop)]
