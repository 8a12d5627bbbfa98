from datetime import timedelta
from pathlib import PurePosixPath

from auditlog.models import LogEntry
from django.conf import settings
from django.contrib import messages
from django.contrib.contenttypes.models import ContentType
from django.contrib.auth.decorators import permission_required
from django.http import FileResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST
from PIL import Image

from accounts.access import (CASE_AND_REQUISITION, get_image_for_user, get_patient_for_user,
                             get_specimen_for_user, get_specimen_material_for_user)
from accounts.audit import log_patient_read
from celinsight.compiled_queries import CompiledQuery
from celinsight.pagination import page_or_404
from diagnostics.presentation import (GALLERY_SIZE, heatmaps_pending, specimen_progress,
                                      specimen_results)
from cases.accessioning import accession
from cases.forms import RequisitionForm
from diagnostics.cell_summary import CellSummary
from diagnostics.models import CellResult, sign_offs_of
from diagnostics.review import ReviewRefused, closing_sign_off
from imaging.field_views import fields_by_status, specimen_fields_context, with_fields_pending
from imaging.forms import SpecimenForm, UploadForm
from imaging.models import ImageAsset, UploadBatch, give_results
from imaging.thumbnails import THUMBNAIL_CONTENT_TYPE, ensure_thumbnail
from imaging.uploads import store_upload

IMAGES_PER_PAGE = 50
ONE_YEAR_SECONDS = 365 * 24 * 60 * 60


@permission_required("imaging.add_specimen", raise_exception=True)
def specimen_create(request, patient_id):
    patient = get_patient_for_user(request.user, patient_id)
    log_patient_read(request, patient)
    form = SpecimenForm(request.POST or None)
    requisition_form = RequisitionForm(request.POST or None, user=request.user)
    no_lab = not requisition_form.fields["lab"].queryset.exists()
    if request.method == "POST" and form.is_valid() and requisition_form.is_valid():
        specimen = form.save(commit=False)
        specimen.patient = patient
        case = accession(specimen, requisition_form.save(commit=False),
                         requisition_form.cleaned_data["lab"], request.user)
        messages.success(request, f"Specimen {specimen} accessioned: it is in the screening "
                                  f"queue of {case.lab}. Upload its images below.")
        return redirect(specimen)
    return render(request, "imaging/specimen_create.html",
                  {"form": form, "requisition_form": requisition_form, "patient": patient,
                   "no_lab": no_lab})


def specimen_detail(request, specimen_id):
    specimen = get_specimen_material_for_user(request.user, specimen_id, CASE_AND_REQUISITION)
    polling = request.headers.get("HX-Target") == "gallery"  # the gallery, for heat maps
    if not polling or not read_logged_lately(request.user, specimen):
        log_patient_read(request, specimen)
    images = cell_images_of(specimen)
    results = specimen_results(images)
    gallery_page = page_or_404(request, results["gallery"], GALLERY_SIZE, parameter="cells")
    gallery = {"gallery_page": gallery_page,
               "heatmaps_pending": heatmaps_pending(gallery_page.object_list)}
    if polling:
        return render(request, "imaging/_gallery.html", {"specimen": specimen, "page": None,
                                                         **results, **gallery})
    sign_offs = sign_offs_of(specimen)
    summary = CellSummary.of(specimen)
    fields = fields_by_status(specimen)
    context = {
        "specimen": specimen,
        "images": images,
        # The charts need every image; the table and the gallery show a page of them each.
        "page": page_or_404(request, images, IMAGES_PER_PAGE),
        "sign_offs": sign_offs,
        **results,
        **gallery,
        "progress": with_fields_pending(specimen, specimen_progress(specimen, summary), fields),
        "last_batch": LAST_BATCH.first(specimen.pk),
        "upload_form": UploadForm(),
        "can_upload": request.user.has_perm("imaging.add_imageasset"),
        "closed_by": closing_sign_off(specimen, sign_offs),
        **specimen_fields_context(request, specimen, fields),
    }
    return render(request, "imaging/specimen_detail.html", context)


def cell_images_of(specimen):
    """The specimen's cell images in upload order, each with its results (``result_list``):
    two queries, compiled once a process. Fields of view are listed apart
    (imaging.field_views); the cells cut from them are cell images here."""
    images = CELL_IMAGES_OF_SPECIMEN(specimen.pk)
    for image in images:
        image.specimen = specimen
    return give_results(images, RESULTS_OF_CELL_IMAGES(specimen.pk))


CELL_IMAGES_OF_SPECIMEN = CompiledQuery(lambda key: ImageAsset.objects.filter(
    specimen=key, kind=ImageAsset.Kind.CELL).order_by("uploaded_at", "pk"), -1)
RESULTS_OF_CELL_IMAGES = CompiledQuery(lambda key: CellResult.objects.filter(
    image__specimen=key, image__kind=ImageAsset.Kind.CELL), -1)
LAST_BATCH = CompiledQuery(
    lambda key: UploadBatch.objects.filter(specimen=key).order_by("-created_at", "-pk")[:1], -1)


def read_logged_lately(user, record):
    """Whether ``user``'s read of ``record`` (a specimen, an image) was logged in the last
    AUDIT_POLL_READ_MINUTES.

    A gallery poll re-draws, every 3 s, cells its page has just shown: one access entry
    per window says who kept the page open, and when, without a thousand entries an hour
    burying the reads that matter. A page opened anew is always logged."""
    since = timezone.now() - timedelta(minutes=settings.AUDIT_POLL_READ_MINUTES)
    return LogEntry.objects.filter(
        action=LogEntry.Action.ACCESS, actor=user, object_id=record.pk,
        content_type=ContentType.objects.get_for_model(record),
        timestamp__gte=since).exists()


@require_POST
@permission_required("imaging.add_imageasset", raise_exception=True)
def specimen_upload(request, specimen_id):
    specimen = get_specimen_for_user(request.user, specimen_id)
    form = UploadForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, " ".join(error for errors in form.errors.values()
                                         for error in errors))
        return redirect(specimen)
    try:
        batch = store_upload(specimen, request.user, form.cleaned_data["files"],
                             form.cleaned_data["content"])
    except ReviewRefused as refusal:  # signed off, or no consent
        messages.error(request, str(refusal))
        return redirect(specimen)
    report_upload(request, batch)
    return redirect(specimen)


def report_upload(request, batch):
    fields = batch.images.filter(kind=ImageAsset.Kind.FIELD).count()
    slides = batch.images.filter(kind=ImageAsset.Kind.SLIDE).count()
    cells = batch.stored_count - fields - slides
    summary = (f"{cells} image(s) stored and queued for classification."
               if cells or not (fields or slides) else "")
    if slides:
        summary = (f"{slides} whole slide(s) stored: the worker scans them tile by tile. "
                   f"{summary}").strip()
    if fields:
        summary = (f"{fields} field(s) of view stored: the worker finds their cells, then "
                   f"classifies each. {summary}").strip()
    if batch.duplicates:
        summary += f" {len(batch.duplicates)} already in this specimen, not stored again."
    if batch.rejections:
        summary += f" {len(batch.rejections)} file(s) skipped; see the list below."
        messages.warning(request, summary)
    else:
        messages.success(request, summary)


def specimen_progress_panel(request, specimen_id):
    specimen = get_specimen_material_for_user(request.user, specimen_id)
    progress = with_fields_pending(specimen, specimen_progress(specimen))
    response = render(request, "imaging/_progress.html", {"specimen": specimen, "progress": progress})
    if not progress["pending"]:
        response["HX-Refresh"] = "true"  # the work is done: reload the page to show the results
    return response


def image_file(request, image_id):
    image = get_image_for_user(request.user, image_id)
    log_patient_read(request, image)
    # The type comes from the checked bytes, never from the name the uploader chose.
    content_type = Image.MIME.get(image.image_format, "application/octet-stream")
    response = FileResponse(image.file.open("rb"), filename=image.original_name,
                            content_type=content_type)
    return cached_if_current(request, response, image.version)


def thumbnail_file(request, image_id):
    """The image's gallery preview (imaging.thumbnails), made on first request if missing."""
    image = get_image_for_user(request.user, image_id)
    log_patient_read(request, image)
    thumbnail = ensure_thumbnail(image)
    response = FileResponse(thumbnail.open("rb"), content_type=THUMBNAIL_CONTENT_TYPE,
                            filename=f"{image.original_name}.thumbnail.webp")
    return cached_if_current(request, response, image.version)


def heatmap_file(request, image_id, result_id):
    """The Grad-CAM overlay the worker stored for one of the image's results."""
    image = get_image_for_user(request.user, image_id)
    result = get_object_or_404(image.results.exclude(heatmap=""), pk=result_id)
    log_patient_read(request, result)
    # WebP since issue 18, PNG before: the stored name's suffix gives the type.
    suffix = PurePosixPath(result.heatmap.name).suffix
    response = FileResponse(result.heatmap.open("rb"),
                            filename=f"{image.original_name}.gradcam{suffix}")
    return cached_if_current(request, response, result.heatmap_version)


def cached_if_current(request, response, version):
    """Let the browser keep a file for a year when its URL names the current content
    (``?v=``, see ImageAsset.file_url): a changed file gets a new URL. Private: patient data
    never goes into shared caches. A URL without, or with an old, version is not kept."""
    if request.GET.get("v") == version:
        response["Cache-Control"] = f"private, max-age={ONE_YEAR_SECONDS}, immutable"
    else:
        response["Cache-Control"] = "private, no-cache"
    return response
