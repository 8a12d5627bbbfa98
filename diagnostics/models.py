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
