"""A patient's specimens over time: signed interpretations, cell counts and the trend.

The whole history is a fixed number of queries however many specimens the patient has:
the counts are annotated and the images, results and sign-offs prefetched.
"""
from dataclasses import dataclass

from django.db.models import Count, Prefetch, Q, prefetch_related_objects

from diagnostics.models import CellResult, SpecimenSignOff
from diagnostics.triage import ABNORMAL_CLASSES
from imaging.models import RESULT_LIST, ImageAsset, Specimen


def patient_history(patient):
    """The patient's specimens in collection order, each with its sign-off versions newest
    first (``sign_off_versions``) and its cells counted; ``with_images`` adds the images.

    A cell is an image with a finished result; ``classified_count``, ``flagged_count``
    (refer to cytologist) and ``abnormal_count`` count images, so an image classified by
    two model versions counts once.
    """
    sign_offs = SpecimenSignOff.objects.newest_first()
    done = Q(images__results__status=CellResult.Status.DONE)

    def cells(condition=Q()):
        return Count("images", filter=done & condition, distinct=True)

    return (
        patient.specimens.order_by("collected_on", "created_at")
        .annotate(
            classified_count=cells(),
            flagged_count=cells(Q(images__results__refer_to_cytologist=True)),
            abnormal_count=cells(Q(images__results__predicted_class__in=ABNORMAL_CLASSES)),
        )
        .prefetch_related(Prefetch("sign_offs", queryset=sign_offs, to_attr="sign_off_versions"))
    )


def with_images(entries):
    """Load the images (each specimen's ``image_list``) and their results (each image's
    ``result_list``) of these entries' specimens, in two queries. Lists rather than the
    managers' caches: those made a queryset for each image, a third of the page's CPU."""
    images = (ImageAsset.objects.order_by("uploaded_at", "pk")
              .prefetch_related(Prefetch("results", to_attr=RESULT_LIST)))
    prefetch_related_objects([entry.specimen for entry in entries],
                             Prefetch("images", queryset=images, to_attr="image_list"))
    return entries


@dataclass
class SpecimenHistory:
    """One specimen as the history shows it."""

    specimen: Specimen

    @property
    def current_sign_off(self):
        versions = self.specimen.sign_off_versions
        return versions[0] if versions else None

    @property
    def first_sign_off(self):
        versions = self.specimen.sign_off_versions
        return versions[-1] if versions else None

    @property
    def amendment_count(self):
        return max(len(self.specimen.sign_off_versions) - 1, 0)

    @property
    def abnormal_share(self):
        """Share of the classified cells predicted as an abnormal class; None without cells."""
        classified = self.specimen.classified_count
        return self.specimen.abnormal_count / classified if classified else None


def history_of(patient, images=True):
    """The patient's history; ``images=False`` leaves the images for with_images() to load
    for the page of specimens shown, as the trend needs every specimen but not their images."""
    entries = [SpecimenHistory(specimen) for specimen in patient_history(patient)]
    return with_images(entries) if images else entries
