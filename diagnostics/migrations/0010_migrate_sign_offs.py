"""The sign-offs of the former three categories become Bethesda report versions.

Negative → NILM; Benign change → NILM with reactive cellular changes (a non-neoplastic
finding); Abnormal: refer → epithelial cell abnormality, "see comment" (a value allowed only
on these migrated versions). Adequacy and specimen type were not recorded then and stay
blank. Backwards, each Bethesda version goes to the nearest former category.
"""
from django.db import migrations

FORWARD = {
    "negative": {"interpretation": "nilm", "general_category": "nilm"},
    "benign_change": {"interpretation": "nilm", "general_category": "nilm",
                      "other_findings": ["reactive_inflammation"]},
    "abnormal_refer": {"interpretation": "see_comment",
                       "general_category": "epithelial_abnormality"},
}


def to_bethesda(apps, schema_editor):
    SignOff = apps.get_model("diagnostics", "SpecimenSignOff")
    for old, fields in FORWARD.items():
        # update(), not save(): signed versions are never saved again (and skip the model's
        # save(), which refuses an existing version).
        SignOff.objects.filter(interpretation=old).update(**fields)


def to_three_categories(apps, schema_editor):
    SignOff = apps.get_model("diagnostics", "SpecimenSignOff")
    for sign_off in SignOff.objects.all().only("pk", "interpretation", "other_findings"):
        if sign_off.interpretation == "nilm":
            old = "benign_change" if sign_off.other_findings else "negative"
        else:
            old = "abnormal_refer"
        SignOff.objects.filter(pk=sign_off.pk).update(interpretation=old)


class Migration(migrations.Migration):

    dependencies = [("diagnostics", "0009_bethesda_report")]

    operations = [migrations.RunPython(to_bethesda, to_three_categories)]
