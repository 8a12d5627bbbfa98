"""The live microscope view: the page (the camera, its overlay and controls are
static/js/live_microscope.js), a frame analysed for the overlay (imaging.live; nothing
stored), and a frame captured into the specimen as a field-of-view upload.

Who may use it, and for which patients, is who may upload to the specimen: the permission
to add images, the specimen's material visible to them (accounts.access) and, where the lab
requires it, the patient's consent (imaging.uploads.refuse_without_consent).
"""
import logging
from pathlib import PurePosixPath

from django.contrib.auth.decorators import permission_required
from django.http import JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from accounts.access import get_specimen_material_for_user
from diagnostics.review import ReviewRefused, closing_sign_off
from imaging.fields import FIELDS
from imaging.live import (LIVE_MAX_CELLS, LIVE_MAX_FRAME_PIXELS, FrameRefused, LiveBusy,
                          analyse_frame, log_live_read, read_frame, start_live_session)
from imaging.models import ImageAsset
from imaging.uploads import ConsentMissing, refuse_without_consent, store_upload
from imaging.validation import IMAGE_EXTENSIONS

logger = logging.getLogger(__name__)


def consent_refusal(specimen):
    """Why the live view may analyse nothing of this specimen, or "" if it may."""
    try:
        refuse_without_consent(specimen)
    except ConsentMissing:
        return (f"{specimen.patient} has not consented to the analysis of their specimens: "
                f"the live view analyses and captures nothing until their consent is recorded "
                f"(a correction of the patient, with a reason).")
    return ""


@permission_required("imaging.add_imageasset", raise_exception=True)
def live_view(request, specimen_id):
    specimen = get_specimen_material_for_user(request.user, specimen_id)
    return render(request, "imaging/live.html", {
        "specimen": specimen,
        "session_id": start_live_session(request, specimen),
        "refusal": consent_refusal(specimen),
        "closed_by": closing_sign_off(specimen),
        "max_frame_pixels": LIVE_MAX_FRAME_PIXELS,
        "max_cells": LIVE_MAX_CELLS,
    })


def json_error(message, status):
    return JsonResponse({"error": message}, status=status)


@require_POST
@permission_required("imaging.add_imageasset", raise_exception=True)
def live_frame(request, specimen_id):
    """One camera frame's cells, as JSON for the overlay (imaging.live.detect_and_classify)."""
    specimen = get_specimen_material_for_user(request.user, specimen_id)
    refusal = consent_refusal(specimen)
    if refusal:
        return json_error(refusal, 403)
    try:
        picture = read_frame(request.FILES.get("frame"))
    except FrameRefused as refused:
        return json_error(str(refused), 400)
    log_live_read(request, specimen, request.POST.get("session", ""))
    try:
        return JsonResponse(analyse_frame(picture))
    except LiveBusy as busy:
        return json_error(str(busy), 503)
    except Exception as error:  # the overlay says so; the next frame tries again
        logger.exception("The live frame of specimen %s could not be analysed", specimen.pk)
        return json_error(f"The frame could not be analysed ({error}).", 500)


def captured_name(uploaded):
    """``live-20261202-071503.jpg``: when it was captured, with the sent image's suffix."""
    suffix = PurePosixPath(uploaded.name or "").suffix.lower()
    return f"live-{timezone.now():%Y%m%d-%H%M%S}{suffix if suffix in IMAGE_EXTENSIONS else '.jpg'}"


@require_POST
@permission_required("imaging.add_imageasset", raise_exception=True)
def live_capture(request, specimen_id):
    """Store the sent frame in the specimen as an upload of one field of view: stored once,
    audited, queued for the worker to find and classify its cells (imaging.uploads)."""
    specimen = get_specimen_material_for_user(request.user, specimen_id)
    frame = request.FILES.get("frame")
    if frame is None:
        return json_error("No frame was sent: post the camera's picture as 'frame'.", 400)
    frame.name = captured_name(frame)
    try:
        batch = store_upload(specimen, request.user, [frame], content=FIELDS)
    except ConsentMissing:
        return json_error(consent_refusal(specimen), 403)
    except ReviewRefused as refusal:  # signed off
        return json_error(str(refusal), 409)
    if batch.rejections:
        return json_error(f"The field was not stored: {batch.rejections[0]['reason']}.", 400)
    if batch.duplicates:
        return JsonResponse({"stored": False, "message": "This very picture is already in the "
                                                        "specimen; it was not stored again."})
    field = batch.images.get(kind=ImageAsset.Kind.FIELD).field_of_view
    return JsonResponse({
        "stored": True, "name": field.image.original_name,
        "field_url": reverse("imaging:field", args=[specimen.pk, field.pk]),
        "message": f"Field {field.image.original_name} stored: the worker finds its cells, "
                   f"then classifies each.",
    }, status=201)
