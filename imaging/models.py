from django.conf import settings
from django.db import models
from django.db.models.functions import Coalesce

from celinsight.compiled_queries import lists_by
from celinsight.url_shapes import reverse_keys


def triage_order(triage_score):
    """Highest triage score first, unscored last: the worklists' and queues' order, written so
    that an index can serve it in SQLite too (no NULLS LAST in its indexes). Scores are
    probabilities, so -1 sorts after every one."""
    return Coalesce(triage_score, models.Value(-1.0)).desc()


class Specimen(models.Model):
    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, related_name="specimens"
    )
    accession_number = models.CharField(max_length=40, unique=True)
    collected_on = models.DateField("collection date")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    triage_score = models.FloatField(
        null=True, blank=True, db_index=True, editable=False,
        help_text="How likely the specimen is abnormal (diagnostics.triage.TRIAGE_RULE); "
                  "recomputed when its cells are classified.",
    )
    awaiting_sign_off = models.BooleanField(
        default=False, editable=False,
        help_text="Has classified cells and no sign-off yet: on its doctors' worklists. Kept "
                  "by diagnostics (triage.update_triage_score, SpecimenSignOff.save).",
    )

    class Meta:
        ordering = ["-collected_on", "-created_at"]
        indexes = [
            # A patient's history lists their specimens by collection date.
            models.Index(fields=["patient", "collected_on"], name="specimen_patient_collected"),
            # Worklists read the few specimens awaiting sign-off among all of their patients'.
            models.Index(fields=["patient"], condition=models.Q(awaiting_sign_off=True),
                         name="specimen_awaiting_by_patient"),
            # The lab's queues list cases in triage order (cases.queue.in_queue_order), a page
            # at a time: read along the index, they stop at the page.
            models.Index(triage_order("triage_score"), "collected_on", "id",
                         name="specimen_triage_order"),
            # ... and the worklist those of them awaiting sign-off (a quarter of them).
            models.Index(triage_order("triage_score"), "collected_on", "id",
                         condition=models.Q(awaiting_sign_off=True),
                         name="specimen_awaiting_triage_order"),
        ]

    def __str__(self):
        return self.accession_number

    def get_absolute_url(self):
        return reverse_keys("imaging:specimen", self.pk)


RESULT_LIST = "result_list"


def give_results(images, results):
    """Hand each image its results (``result_list``, in the rows' order) from one query's
    rows, as ``Prefetch("results", to_attr=RESULT_LIST)`` would."""
    by_image = lists_by(results, "image_id")
    for image in images:
        setattr(image, RESULT_LIST, by_image.get(image.pk, []))
        for result in getattr(image, RESULT_LIST):
            result.image = image
    return images


def stored_image_path(instance, filename):
    return f"specimens/{instance.specimen_id}/{filename}"


def cell_table_path(instance, filename):
    return f"specimens/{instance.image.specimen_id}/cell_tables/{filename}"


def thumbnail_path(instance, filename):
    return f"specimens/{instance.specimen_id}/thumbnails/{filename}"


class ImageAsset(models.Model):
    """One uploaded cell or slide image, stored through Django's storage API.

    A cell crop is classified as one cell; a field of view is not: the worker finds its
    cells (FieldOfView) and stores each as a crop of its own, which remembers where it was cut.
    """

    class Kind(models.TextChoices):
        CELL = "cell", "Cell crop"
        FIELD = "field", "Field of view"
        SLIDE = "slide", "Whole slide"

    specimen = models.ForeignKey(Specimen, on_delete=models.PROTECT, related_name="images")
    file = models.FileField(upload_to=stored_image_path, max_length=255)
    thumbnail = models.FileField(
        upload_to=thumbnail_path, max_length=255, blank=True, editable=False,
        help_text="WebP preview for galleries (imaging.thumbnails), made at upload; empty for "
                  "images stored before thumbnails existed until their first is asked for.",
    )
    original_name = models.CharField(max_length=255)
    sha256 = models.CharField(max_length=64)
    image_format = models.CharField(max_length=10)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    size_bytes = models.PositiveBigIntegerField()
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    uploaded_at = models.DateTimeField(auto_now_add=True)
    upload_batch = models.ForeignKey(
        "UploadBatch", null=True, blank=True, on_delete=models.SET_NULL, related_name="images",
        help_text="The upload that stored this image; empty for images stored before batches were linked.",
    )
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.CELL)
    source_field = models.ForeignKey(
        "FieldOfView", null=True, blank=True, on_delete=models.CASCADE, related_name="crops",
        help_text="The field of view the worker cut this cell from; empty for uploaded cells.",
    )
    # Where the cell was found in its source field, in the field's own pixels.
    field_x = models.FloatField(null=True, blank=True)
    field_y = models.FloatField(null=True, blank=True)
    nucleus_radius = models.FloatField(null=True, blank=True)
    detection_score = models.FloatField(null=True, blank=True,
                                        help_text="The detector's score of the nucleus, 0-1.")

    class Meta:
        ordering = ["uploaded_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["specimen", "sha256"], name="one_copy_of_an_image_per_specimen"
            )
        ]
        # Specimen pages and the history list a specimen's images in upload order.
        indexes = [models.Index(fields=["specimen", "uploaded_at"], name="image_specimen_uploaded")]

    def __str__(self):
        return self.original_name

    @property
    def cut_from_field(self):
        """Whether the worker cut this cell from a field of view or a slide (else uploaded)."""
        return self.source_field_id is not None

    @property
    def version(self):
        """The part of the file's sha256 that its content-addressed URLs carry (?v=)."""
        return self.sha256[:16]

    def file_url(self):
        return f"{reverse_keys('imaging:image_file', self.pk)}?v={self.version}"

    def thumbnail_url(self):
        return f"{reverse_keys('imaging:thumbnail_file', self.pk)}?v={self.version}"

    def latest_result(self):
        """The newest result: of ``result_list`` where a page prefetched the results into it
        (``Prefetch("results", to_attr=RESULT_LIST)``: no queryset made per image)."""
        results = getattr(self, RESULT_LIST, None)
        if results is None:
            results = self.results.all()
        results = sorted(results, key=lambda result: result.queued_at)
        return results[-1] if results else None


class FieldOfView(models.Model):
    """The worker's search for cells in one field-of-view image (its ImageAsset holds the
    bytes, checked and stored like any upload): like a CellResult for a cell, it is queued,
    running, done (the cells found were stored as crops and queued) or failed, with why.

    Frames of one video are tracked together: a cell seen again in a later frame is not cut
    again, so ``cells_found`` counts every nucleus in the frame and ``cells_cut`` the new ones.
    """

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"

    image = models.OneToOneField(ImageAsset, on_delete=models.CASCADE,
                                 related_name="field_of_view")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    error = models.TextField(blank=True, help_text="Why the cells of the field were not found.")
    detector_version = models.CharField(max_length=100, blank=True)
    cells_found = models.PositiveIntegerField(null=True, blank=True,
                                              help_text="Nuclei the detector reported.")
    cells_cut = models.PositiveIntegerField(
        null=True, blank=True, help_text="Crops stored and classified from this field.")
    video_name = models.CharField(max_length=255, blank=True,
                                  help_text="The video this frame was sampled from, if any.")
    frame_seconds = models.FloatField(null=True, blank=True)
    seconds_taken = models.FloatField(null=True, blank=True)
    # A whole slide (its image's kind "slide") is scanned tile by tile: its progress, and
    # every cell found in a Parquet table (diagnostics.engine.cell_table); only the top-ranked
    # and the flagged cells are stored as crops (CELINSIGHT_SLIDE_CELL_ROWS).
    tiles_done = models.PositiveIntegerField(null=True, blank=True)
    tiles_total = models.PositiveIntegerField(null=True, blank=True)
    cell_table = models.FileField(
        upload_to=cell_table_path, max_length=255, blank=True, editable=False,
        help_text="A whole slide's cells, one row each (position, detector score, classes, "
                  "probabilities, referral), as Parquet.")
    queued_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["queued_at", "pk"]
        verbose_name = "field of view"
        verbose_name_plural = "fields of view"

    def __str__(self):
        return f"{self.image} · {self.status}"


class UploadBatch(models.Model):
    """What happened to one upload: how many files were stored, and why others were not."""

    specimen = models.ForeignKey(Specimen, on_delete=models.CASCADE, related_name="upload_batches")
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    stored_count = models.PositiveIntegerField(default=0)
    duplicates = models.JSONField(default=list, help_text="Names of files already in the specimen.")
    rejections = models.JSONField(
        default=list, help_text='[{"file": name, "reason": why it was not stored}]'
    )
    content = models.CharField(
        max_length=10, default="auto",
        help_text="What the uploader said the images are: cell (crops), field (of view), or "
                  "auto (by size, imaging.fields.kind_of_image).",
    )

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "upload batches"
        # "My batches": one uploader's batches, newest first.
        indexes = [models.Index(fields=["uploaded_by", "-created_at"], name="batch_uploader_newest")]

    def __str__(self):
        return f"Upload to {self.specimen} at {self.created_at:%Y-%m-%d %H:%M}"
