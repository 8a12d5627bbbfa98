"""Lab staff correct what was recorded wrongly: a field of a patient, specimen or requisition
(the old value kept, with the reason), or a mistaken upload, deleted before screening starts.

Each correction is a Correction row, and the change itself is in django-auditlog's trail.
"""
from django.db import transaction

from cases.models import Correction, Requisition
from diagnostics.models import CellResult, CellReview
from diagnostics.review import ReviewRefused, refuse_if_signed_off
from diagnostics.triage import update_triage_score
from imaging.models import ImageAsset, Specimen
from patients.models import Patient

# What lab staff may correct, by the name the correction page's URL uses.
CORRECTABLE = {
    "patient": (Patient, ["mrn", "full_name", "date_of_birth", "consent_given"]),
    "specimen": (Specimen, ["accession_number", "collected_on"]),
    "requisition": (Requisition, ["ordering_clinician", "specimen_type", "last_menstrual_period",
                                  "previous_abnormal_result", "hpv_result", "post_menopausal",
                                  "pregnant", "hysterectomy", "other_risk_flags"]),
}


def as_text(value):
    return "" if value is None else str(value)


def correct_fields(record, new_values, reason, user):
    """Set the changed fields of ``record`` from ``new_values``; one Correction per field
    changed, keeping its old value. Returns the Corrections (none when nothing changed)."""
    reason = reason.strip()
    if not reason:
        raise ReviewRefused("A correction needs a reason: say what was wrong.")
    changed = {name: value for name, value in new_values.items()
               if getattr(record, name) != value}
    patient = record if isinstance(record, Patient) else record.specimen.patient \
        if isinstance(record, Requisition) else record.patient
    corrections = [
        Correction(patient=patient, model_name=record._meta.model_name, object_id=str(record.pk), field=name,
                   old_value=as_text(getattr(record, name)), new_value=as_text(value),
                   reason=reason, by=user)
        for name, value in changed.items()]
    if not changed:
        return []
    with transaction.atomic():
        for name, value in changed.items():
            setattr(record, name, value)
        record.save()  # django-auditlog records the change, old and new values
        Correction.objects.bulk_create(corrections)
    return corrections


def refuse_if_screening_started(specimen):
    """Uploads may be deleted only before anyone screens the specimen."""
    case = getattr(specimen, "case", None)
    if case is not None and case.screening_started:
        raise ReviewRefused(
            f"Screening of {specimen} has started ({case.get_stage_display().lower()}): its "
            f"images can no longer be deleted. Ask the screener to return it to the queue.")
    refuse_if_signed_off(specimen)


def delete_upload(image, reason, user):
    """Delete a mistaken upload: the image, its results and their files, and note why. A
    field of view goes with the cells the worker cut from it; a cut cell alone may not go."""
    reason = reason.strip()
    if not reason:
        raise ReviewRefused("Deleting an upload needs a reason: say what was wrong with it.")
    if image.source_field_id is not None:
        raise ReviewRefused(f"{image} was cut by the worker from a field of view: delete that "
                            f"field ({image.source_field.image}) instead.")
    specimen = image.specimen
    refuse_if_screening_started(specimen)
    images = [image, *ImageAsset.objects.filter(source_field__image=image)]
    results = list(CellResult.objects.filter(image__in=images))
    if CellReview.objects.filter(result__in=results).exists():
        raise ReviewRefused(f"{image} has reviewed cells; it can no longer be deleted.")
    stored = [each.file for each in images] + [result.heatmap for result in results if result.heatmap]
    with transaction.atomic():
        Correction.objects.create(
            patient=specimen.patient, model_name="imageasset", object_id=str(image.pk), field="upload",
            old_value=f"{image.original_name} (sha256 {image.sha256})"
                      + (f" and the {len(images) - 1} cells cut from it" if len(images) > 1 else ""),
            new_value="deleted", reason=reason, by=user)
        for result in results:
            result.delete()
        image.delete()  # its field of view, cut cells and thumbnails go with it
        update_triage_score(specimen)
        for file in stored:
            storage, name = file.storage, file.name
            transaction.on_commit(lambda storage=storage, name=name: storage.delete(name))
