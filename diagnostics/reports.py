"""The printable Bethesda report of one specimen: what the signer reported, with what the
model found as computer-assisted findings and the history of signed versions.

Anyone who may open the specimen may print its report; others get a 404 from
get_specimen_for_user, as for every other page of the specimen.
"""
from django.db.models import Count
from django.shortcuts import render
from django.utils import timezone

from accounts.access import get_specimen_for_user, reads_signed_reports_only
from accounts.audit import log_patient_read
from diagnostics.bethesda import report_loinc
from diagnostics.computer_assisted import computer_assisted_section
from diagnostics.models import CellResult, CellReview, sign_offs_of
from diagnostics.report_text import lab, patient_age
from diagnostics.review import flagged_results


def class_counts(specimen):
    """[(model version, [(class, count), ...]), ...] over the specimen's classified cells."""
    rows = (
        CellResult.objects.filter(image__specimen=specimen, status=CellResult.Status.DONE)
        .values_list("model_version", "predicted_class")
        .annotate(count=Count("pk"))
        .order_by("model_version", "-count", "predicted_class")
    )
    by_version = {}
    for model_version, predicted_class, count in rows:
        by_version.setdefault(model_version, []).append((predicted_class, count))
    return list(by_version.items())


def overrides(specimen):
    return (
        CellReview.objects.filter(result__image__specimen=specimen, accepted=False)
        .select_related("result__image", "reviewer")
        .order_by("reviewed_at", "pk")
    )


def specimen_report_context(specimen):
    counts = class_counts(specimen)
    sign_offs = sign_offs_of(specimen)
    current = sign_offs[0] if sign_offs else None
    return {
        **lab(),
        "specimen": specimen,
        "patient": specimen.patient,
        "age": patient_age(specimen),
        "report": current,
        # Signed: the computer-assisted section as frozen on the version; else as it is now.
        "ai_section": current if current else computer_assisted_section(specimen),
        "report_loinc": report_loinc(current.specimen_type if current else ""),
        "class_counts": counts,
        "cell_count": sum(count for _, rows in counts for _, count in rows),
        "flagged": list(flagged_results(specimen)),
        "overrides": list(overrides(specimen)),
        "sign_offs": sign_offs,
        "printed_at": timezone.now(),
    }


def specimen_report(request, specimen_id):
    specimen = get_specimen_for_user(request.user, specimen_id)
    log_patient_read(request, specimen)
    # A clinician reads the signed report, not the specimen's page of cells.
    sees_material = not reads_signed_reports_only(request.user)
    return render(request, "diagnostics/report.html",
                  {**specimen_report_context(specimen), "sees_material": sees_material})
