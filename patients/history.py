from django.db.models import Prefetch

from imaging.models import ImageAsset


def patient_history(patient):
    """The patient's specimens in collection order, each with its images and their results."""
    images = ImageAsset.objects.order_by("uploaded_at", "pk").prefetch_related("results")
    return (
        patient.specimens.order_by("collected_on", "created_at")
        .prefetch_related(Prefetch("images", queryset=images))
    )
