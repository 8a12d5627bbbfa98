"""The zoomable viewer of a field of view or a whole slide (OpenSeadragon, drawn by
static/js/slide_viewer.js): the page, its Deep Zoom descriptor and tiles, and the cells of a
region as JSON.

Access is the field page's (imaging.field_views). Opening the page logs one read of the
image; the descriptor, tiles and cells it then fetches (hundreds) log one only when this user's
read of the image was not logged in the last AUDIT_POLL_READ_MINUTES, as the gallery's polls
do (imaging.views.read_logged_lately): a fetch without the page still leaves a trace.
"""
import io
import math

from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import render

from accounts.access import get_specimen_material_for_user, get_visible_or_404
from accounts.audit import log_patient_read
from imaging.deep_zoom import JPEG_QUALITY, TILE_FORMAT, deep_zoom_for
from imaging.models import FieldOfView, ImageAsset
from imaging.viewer_cells import cell_marks, marks_and_crops, region_json
from imaging.views import cached_if_current, read_logged_lately

REGION_SIDES = ("left", "top", "right", "bottom")


def get_field_for_user(user, specimen_id, field_id):
    """(specimen, field): the field page's access, for the viewer and everything it fetches."""
    specimen = get_specimen_material_for_user(user, specimen_id)
    fields = FieldOfView.objects.filter(image__specimen=specimen).select_related("image")
    return specimen, get_visible_or_404(user, fields, "field", field_id)


def viewer(request, specimen_id, field_id):
    """The field or slide in a zoomable viewer, every cell marked in its class's colour;
    ``?x=&y=`` (its pixels) centres on a place, ``&cell=`` (a crop's id) marks that cell."""
    specimen, field = get_field_for_user(request.user, specimen_id, field_id)
    log_patient_read(request, field.image)
    marks = cell_marks(field)
    return render(request, "imaging/viewer.html", {
        "specimen": specimen, "field": field, "image": field.image,
        "is_slide": field.image.kind == ImageAsset.Kind.SLIDE,
        "legend": marks.legend(), "cells_total": len(marks),
        "flagged_total": int(marks.flagged.sum()), "focus": focus_of(request.GET),
    })


def focus_of(query):
    """The place a link asked to centre on: {"x", "y", "cell"}, or None if it asked none
    (or not in numbers)."""
    try:
        x, y = float(query["x"]), float(query["y"])
    except (KeyError, ValueError):
        return None
    if not (math.isfinite(x) and math.isfinite(y)):
        return None
    cell = query.get("cell", "")
    return {"x": x, "y": y, "cell": cell if cell.isascii() and cell.isdigit() else ""}


def log_read_unless_lately(request, image):
    """Log the user's read of ``image`` unless one was logged in the last
    AUDIT_POLL_READ_MINUTES (the viewer page's, for the tiles it fetches)."""
    if not read_logged_lately(request.user, image):
        log_patient_read(request, image)


def deep_zoom_of(image):
    try:
        return deep_zoom_for(image)
    except (OSError, ValueError):
        raise Http404("The stored image could not be read for the viewer.") from None


def deep_zoom_descriptor(request, specimen_id, field_id):
    """The image's Deep Zoom descriptor (.dzi): its size, tile size and format."""
    _, field = get_field_for_user(request.user, specimen_id, field_id)
    log_read_unless_lately(request, field.image)
    descriptor = deep_zoom_of(field.image).get_dzi(TILE_FORMAT)
    response = HttpResponse(descriptor, content_type="application/xml")
    return cached_if_current(request, response, field.image.version)


def deep_zoom_tile(request, specimen_id, field_id, level, column, row):
    """One JPEG tile of the image's Deep Zoom pyramid; the same for ever for one ?v=."""
    _, field = get_field_for_user(request.user, specimen_id, field_id)
    log_read_unless_lately(request, field.image)
    try:
        tile = deep_zoom_of(field.image).get_tile(level, (column, row))
    except ValueError:
        raise Http404(f"The image has no tile {column}_{row} at level {level}.") from None
    buffer = io.BytesIO()
    tile.convert("RGB").save(buffer, "JPEG", quality=JPEG_QUALITY)
    response = HttpResponse(buffer.getvalue(), content_type="image/jpeg")
    return cached_if_current(request, response, field.image.version)


def viewer_cells(request, specimen_id, field_id):
    """The cells in a region (``?left=&top=&right=&bottom=``, the image's pixels; all when
    absent), flagged ones only with ``?flagged=1``: see imaging.viewer_cells.region_json."""
    specimen, field = get_field_for_user(request.user, specimen_id, field_id)
    try:
        region = region_of(request.GET)
    except ValueError as error:
        return JsonResponse({"error": str(error)}, status=400)
    log_read_unless_lately(request, field.image)
    marks, crops = marks_and_crops(field, region)
    response = JsonResponse(region_json(specimen, marks, crops, region,
                                        request.GET.get("flagged") == "1"))
    response["Cache-Control"] = "private, no-cache"  # classes change as cells are reviewed
    return response


def region_of(query):
    """(left, top, right, bottom) from the query, or None for the whole image."""
    if not any(side in query for side in REGION_SIDES):
        return None
    try:
        region = tuple(float(query[side]) for side in REGION_SIDES)
    except (KeyError, ValueError):
        raise ValueError("A region needs left, top, right and bottom, each a number of "
                         "pixels.") from None
    if not all(math.isfinite(value) for value in region):
        raise ValueError("A region's sides must be finite numbers of pixels.")
    return region
