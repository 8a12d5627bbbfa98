"""Fields of view on the pages: the specimen page's list of fields (how many cells each
held, or why it failed) with the adequacy help, and one field with its cells marked."""
from functools import partial

from django.db.models import Count, Prefetch
from django.shortcuts import render

from accounts.access import get_specimen_material_for_user, get_visible_or_404
from accounts.audit import log_patient_read
from cases.models import Requisition
from celinsight.compiled_queries import CompiledQuery
from celinsight.pagination import CountedPaginator, page_or_404
from diagnostics.adequacy import adequacy_help
from diagnostics.models import CellResult
from imaging.models import FieldOfView, ImageAsset

FIELDS_PER_PAGE = 20


def specimen_fields_context(request, specimen, by_status):
    """The specimen page's fields (a page of them, ``?fields=``) and its adequacy help; empty
    for a specimen without fields. A constant number of queries, however many fields.
    ``by_status``: its ``fields_by_status``."""
    field_count = sum(by_status.values())
    if not field_count:
        return {"fields_page": None}
    fields = (FieldOfView.objects.filter(image__specimen=specimen)
              .select_related("image").order_by("image__uploaded_at", "pk"))
    fields_page = page_or_404(request, fields, FIELDS_PER_PAGE,
                              partial(CountedPaginator, count=field_count), parameter="fields")
    specimen_type = (Requisition.objects.filter(specimen=specimen)
                     .values_list("specimen_type", flat=True).first())
    return {"fields_page": fields_page, "adequacy": adequacy_help(specimen, specimen_type)}


def with_fields_pending(specimen, progress, by_status=None):
    """diagnostics' classification progress, with the fields whose cells are still being
    found counted as pending work: their cells are not queued yet. ``by_status``: its
    ``fields_by_status``, where the caller has it."""
    by_status = fields_by_status(specimen) if by_status is None else by_status
    progress["fields_pending"] = sum(by_status.get(status, 0) for status in (
        FieldOfView.Status.QUEUED, FieldOfView.Status.RUNNING))
    progress["pending"] += progress["fields_pending"]
    # Whole slides being scanned, with their tiles done / total (diagnostics.slide_cells).
    progress["slides_scanning"] = list(FieldOfView.objects.filter(
        image__specimen=specimen, image__kind=ImageAsset.Kind.SLIDE,
        status=FieldOfView.Status.RUNNING).values_list(
        "image__original_name", "tiles_done", "tiles_total")) if progress["fields_pending"] else []
    return progress


def fields_by_status(specimen):
    """``{status: fields}`` of the specimen's fields of view (one query, compiled once)."""
    return dict(FIELDS_BY_STATUS.rows(specimen.pk))


FIELDS_BY_STATUS = CompiledQuery(lambda key: FieldOfView.objects.filter(image__specimen=key)
                                 .values_list("status").annotate(Count("pk")).order_by(), -1)


def field_detail(request, specimen_id, field_id):
    """One field of view with every cell cut from it marked where it was found; ``?cell=``
    (a crop's image id) is the one a cell page came from, drawn apart."""
    specimen = get_specimen_material_for_user(request.user, specimen_id)
    fields = FieldOfView.objects.filter(image__specimen=specimen).select_related("image")
    field = get_visible_or_404(request.user, fields, "field", field_id)
    log_patient_read(request, field.image)
    latest_results = Prefetch("results", queryset=CellResult.objects.order_by("queued_at", "pk"))
    crops = (ImageAsset.objects.filter(source_field=field).order_by("pk")
             .prefetch_related(latest_results))
    marks = [crop_mark(crop) for crop in crops]
    return render(request, "imaging/field.html", {
        "specimen": specimen, "field": field, "image": field.image, "marks": marks,
        "chosen": request.GET.get("cell", ""),
    })


def crop_mark(crop):
    """A cell's mark on its field: where, how large, its class and its cell page's result."""
    results = list(crop.results.all())
    result = results[-1] if results else None
    done = result is not None and result.status == CellResult.Status.DONE
    return {"crop": crop, "x": round(crop.field_x), "y": round(crop.field_y),
            "radius": max(round(crop.nucleus_radius or 0), 6),
            "result": result if done else None,
            "label": result.predicted_class if done else "not classified yet"}
