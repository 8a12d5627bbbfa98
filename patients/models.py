from django.conf import settings
from django.db import models

from celinsight.url_shapes import reverse_keys


class Patient(models.Model):
    mrn = models.CharField(
        "MRN", max_length=32, unique=True, help_text="Medical record number, unique in this lab."
    )
    full_name = models.CharField(max_length=200)
    date_of_birth = models.DateField()
    consent_given = models.BooleanField(
        "consent to processing", default=False,
        help_text="The patient consented to the analysis of their specimens.",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["full_name", "mrn"]

    def __str__(self):
        return f"{self.full_name} ({self.mrn})"

    def get_absolute_url(self):
        return reverse_keys("patients:detail", self.pk)
