"""GDPR: export everything CelInsight holds about a patient, and erase it.

Both are used from the patient admin (patients/admin.py), by administrators holding
the `patients.export_erase_patient` permission, and both leave an audit-log entry.

Erasure removes the patient's sign-offs and cell reviews too, although they are
PROTECTed clinical records elsewhere: a patient who asks to be erased expects their
results to be gone, and keeping reviews would keep the cells' classes and the link
to their specimen. The admin asks for the MRN to be typed before it erases, and the
audit entry of the erasure lists how many of each record and file went. Earlier audit
entries about the patient are kept (they are the lab's record of who did what), but the
erasure does not add auditlog's usual per-row deletion entries, which would copy the
erased data into the log.
"""
import io
import json
import zipfile

from auditlog.context import disable_auditlog
from auditlog.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core import serializers
from django.core.files.storage import default_storage
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone
from guardian.models import GroupObjectPermission, UserObjectPermission

from cases.models import Case, Correction, Disagreement, HandOver, Requisition, ScreeningFindings
from diagnostics.models import CellResult, CellReview, SpecimenSignOff
from imaging.models import FieldOfView, ImageAsset, Specimen, UploadBatch
from imaging.slide_parts import parts_folder, remove_empty_folders, stored_names_of
from patients.models import Patient

GDPR_PERMISSION = "patients.export_erase_patient"


def records_of(patient):
    """Every row about the patient, by kind, in the order they can be deleted."""
    specimens = Specimen.objects.filter(patient=patient)
    images = ImageAsset.objects.filter(specimen__patient=patient)
    results = CellResult.objects.filter(image__specimen__patient=patient)
    cases = Case.objects.filter(specimen__patient=patient)
    requisitions = Requisition.objects.filter(specimen__patient=patient)
    return {
        "reviews": CellReview.objects.filter(result__in=results),
        "sign_offs": SpecimenSignOff.objects.filter(specimen__in=specimens),
        "corrections": Correction.objects.filter(patient=patient),
        "disagreements": Disagreement.objects.filter(case__in=cases),
        "screening_findings": ScreeningFindings.objects.filter(case__in=cases),
        "hand_overs": HandOver.objects.filter(case__in=cases),
        "cases": cases,
        "requisitions": requisitions,
        "results": results,
        "fields_of_view": FieldOfView.objects.filter(image__specimen__patient=patient),
        "images": images,
        "upload_batches": UploadBatch.objects.filter(specimen__in=specimens),
        "specimens": specimens,
        "patient": Patient.objects.filter(pk=patient.pk),
    }


def stored_files_of(patient):
    """Names in storage of the patient's images, heatmaps and whole slides' cell tables."""
    records = records_of(patient)
    names = [part for name in records["images"].values_list("file", flat=True)
             for part in stored_names_of(default_storage, name)]  # every part of a slide
    names += records["results"].exclude(heatmap="").values_list("heatmap", flat=True)
    names += records["fields_of_view"].exclude(cell_table="").values_list("cell_table", flat=True)
    return [name for name in names if name]


def audit_entries_of(patient):
    entries = LogEntry.objects.none()
    for queryset in records_of(patient).values():
        entries = entries | LogEntry.objects.get_for_objects(queryset)
    return entries.select_related("content_type", "actor").order_by("timestamp", "pk")


def describe_audit_entry(entry):
    return {
        "timestamp": entry.timestamp, "action": entry.get_action_display(),
        "model": f"{entry.content_type.app_label}.{entry.content_type.model}",
        "object_pk": entry.object_pk, "object_repr": entry.object_repr, "changes": entry.changes,
        "actor": entry.actor.get_username() if entry.actor else None,
        "remote_addr": entry.remote_addr, "additional_data": entry.additional_data,
    }


def patient_data(patient):
    """The contents of patient.json: every row about the patient, and its audit trail."""
    data = {"exported_at": timezone.now()}
    for kind, queryset in reversed(records_of(patient).items()):
        data[kind] = serializers.serialize(
            "python", queryset.order_by("pk"), use_natural_foreign_keys=True
        )
    data["patient"] = data["patient"][0]
    data["audit_log"] = [describe_audit_entry(entry) for entry in audit_entries_of(patient)]
    return data


def export_patient(patient, exported_by):
    """A zip with patient.json and, under files/, every stored image and heatmap."""
    data = patient_data(patient)
    data["missing_files"] = []
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in stored_files_of(patient):
            try:
                with default_storage.open(name, "rb") as stored:
                    archive.writestr(f"files/{name}", stored.read())
            except FileNotFoundError:
                data["missing_files"].append(name)
        archive.writestr("patient.json", json.dumps(data, cls=DjangoJSONEncoder, indent=2))
    log_gdpr_event(patient, exported_by, LogEntry.Action.ACCESS, {"gdpr": "export"})
    return buffer.getvalue()


def erase_patient(patient, erased_by):
    """Delete the patient, everything about them and their files in storage.

    Returns the number of rows deleted by kind, and of files. Files go once the database
    rows are gone for good, so a failed erasure leaves no record without its image.
    """
    file_names = stored_files_of(patient)
    counts = {}
    with transaction.atomic():
        # One entry for the erasure, not one per deleted row: auditlog's own deletion
        # entries would copy the erased personal data into the log.
        with disable_auditlog():
            for kind, queryset in records_of(patient).items():
                remove_object_permissions(queryset)
                counts[kind] = queryset.count()
                queryset.delete()
        counts["files"] = len(file_names)
        log_gdpr_event(patient, erased_by, LogEntry.Action.DELETE, {"gdpr": "erase", "deleted": counts})
        transaction.on_commit(lambda: delete_stored_files(file_names))
    return counts


def delete_stored_files(names):
    for name in names:
        default_storage.delete(name)  # the storage API, so S3 objects go too
    for folder in {parts_folder(name) for name in names} - {None}:
        remove_empty_folders(default_storage, folder)  # a multi-file slide's, on local files


def remove_object_permissions(queryset):
    """django-guardian keeps object permissions by key, not foreign key: remove them by hand."""
    content_type = ContentType.objects.get_for_model(queryset.model)
    keys = [str(pk) for pk in queryset.values_list("pk", flat=True)]
    for model in (UserObjectPermission, GroupObjectPermission):
        model.objects.filter(content_type=content_type, object_pk__in=keys).delete()


def log_gdpr_event(patient, actor, action, additional_data):
    # The MRN, not the name: the entry outlives the erasure.
    return LogEntry.objects.create(
        content_type=ContentType.objects.get_for_model(Patient), object_pk=str(patient.pk),
        object_id=patient.pk, object_repr=f"Patient {patient.mrn}", action=action,
        changes={}, actor=actor, additional_data=additional_data,
    )
