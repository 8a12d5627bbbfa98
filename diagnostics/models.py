from pathlib import Path

from django.conf import settings
from django.db import models


class CellResult(models.Model):
    """The classification of one image by one model version."""

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"

    image = models.ForeignKey("imaging.ImageAsset", on_delete=models.CASCADE, related_name="results")
    model_version = models.CharField(max_length=100)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    predicted_class = models.CharField(max_length=100, blank=True)
    probabilities = models.JSONField(
        default=dict, blank=True, help_text="Class name → probability; the values sum to 1."
    )
    refer_to_cytologist = models.BooleanField(
        default=False,
        help_text="The model's calibrated confidence is below its referral threshold: a "
                  "cytologist should look at this cell.",
    )
    error = models.TextField(blank=True, help_text="Why classification failed.")
    seconds_taken = models.FloatField(null=True, blank=True)
    queued_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["queued_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["image", "model_version"], name="one_result_per_image_and_model"
            )
        ]
        indexes = [models.Index(fields=["status"])]

    def __str__(self):
        return f"{self.image} · {self.model_version} · {self.status}"

    @property
    def confidence(self):
        return self.probabilities.get(self.predicted_class) if self.predicted_class else None

    def probabilities_by_rank(self):
        return sorted(self.probabilities.items(), key=lambda item: item[1], reverse=True)


class ModelVersion(models.Model):
    """A trained classifier on disk. New uploads are classified with the active one."""

    version = models.CharField(max_length=100, unique=True)
    directory = models.CharField(
        max_length=500,
        help_text="Folder holding metadata.json and the head file; relative to the project folder "
                  "when inside it.",
    )
    metadata = models.JSONField(default=dict, help_text="A copy of the model's metadata.json.")
    is_active = models.BooleanField(
        default=False, help_text="New uploads are classified with the active model; only one is."
    )
    registered_at = models.DateTimeField(auto_now_add=True)
    activated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-registered_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_active"], condition=models.Q(is_active=True), name="only_one_active_model"
            )
        ]

    def __str__(self):
        return self.version

    @property
    def path(self):
        directory = Path(self.directory)
        return directory if directory.is_absolute() else settings.BASE_DIR / directory

    @property
    def validation(self):
        return self.metadata.get("validation", {})
