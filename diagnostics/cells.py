"""The cell page: one classified cell looked at properly (zoom, Grad-CAM overlay, its
probabilities), with the previous and next cells of the specimen's ranked gallery."""
from django.shortcuts import render

from accounts.access import get_specimen_material_for_user, get_visible_or_404
from accounts.audit import log_patient_read
from diagnostics.models import CellResult, ModelVersion
from diagnostics.presentation import (gallery_place, latest_classified_results,
                                      ranked_gallery)
from diagnostics.triage import suspicion_of

ZOOM_LEVELS = (1, 2, 4)


def cell_detail(request, specimen_id, result_id):
    specimen = get_specimen_material_for_user(request.user, specimen_id)
    classified = CellResult.objects.filter(image__specimen=specimen,
                                           status=CellResult.Status.DONE)
    result = get_visible_or_404(request.user, classified.select_related("image"),
                                "result", result_id)
    log_patient_read(request, result)
    images = specimen.images.order_by("uploaded_at", "pk").prefetch_related("results")
    ranked = ranked_gallery(latest_classified_results(images))
    context = {
        "specimen": specimen,
        "result": result,
        "image": result.image,
        "review": getattr(result, "review", None),
        "abnormal": suspicion_of(result),
        "cell_count": len(ranked),
        **gallery_place(ranked, result),
        "zoom_levels": ZOOM_LEVELS,
        "referral_threshold": referral_threshold(result.model_version),
    }
    return render(request, "diagnostics/cell.html", context)


def referral_threshold(model_version):
    """The calibrated confidence below which the model flags a cell (None if unrecorded)."""
    model = ModelVersion.objects.filter(version=model_version).first()
    return model.metadata.get("calibration", {}).get("referral_threshold") if model else None
