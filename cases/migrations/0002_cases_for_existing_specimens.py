from django.db import migrations

# Specimens accessioned before cases existed join one lab ("Main lab"), with every lab staff
# member and pathologist as members: signed-off ones as signed out, ones on a doctor's
# worklist waiting for a pathologist (they were never screened), the rest in the screening
# queue. A database without specimens gets no lab: administrators create theirs.
DEFAULT_LAB = "Main lab"
MEMBER_ROLES = ["Lab staff", "Pathologist"]


def stage_of(specimen, signed_ids):
    if specimen.pk in signed_ids:
        return "signed_out"
    return "awaiting_pathologist" if specimen.awaiting_sign_off else "awaiting_screening"


def open_cases(apps, schema_editor):
    Specimen = apps.get_model("imaging", "Specimen")
    if not Specimen.objects.exists():
        return
    Lab, Case = apps.get_model("cases", "Lab"), apps.get_model("cases", "Case")
    User = apps.get_model("auth", "User")
    lab, _ = Lab.objects.get_or_create(name=DEFAULT_LAB)
    lab.members.add(*User.objects.filter(groups__name__in=MEMBER_ROLES).distinct())
    signed_ids = set(apps.get_model("diagnostics", "SpecimenSignOff").objects
                     .values_list("specimen_id", flat=True))
    without_case = Specimen.objects.filter(case__isnull=True).iterator(chunk_size=2000)
    batch = []
    for specimen in without_case:
        batch.append(Case(specimen=specimen, lab=lab, stage=stage_of(specimen, signed_ids)))
        if len(batch) == 2000:
            Case.objects.bulk_create(batch)
            batch = []
    Case.objects.bulk_create(batch)


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0001_initial"),
        ("accounts", "0006_screening_roles"),
        ("diagnostics", "0010_migrate_sign_offs"),
    ]

    operations = [migrations.RunPython(open_cases, migrations.RunPython.noop)]
