"""A patient's specimens over time: signed interpretations, cell counts and the trend.

The whole history is a fixed number of queries however many specimens the patient has:
the counts are annotated and the images, results and sign-offs read for all specimens at once.
"""
from dataclasses import dataclass

from django.db.models import Count, Q

from celinsight.compiled_queries import CompiledQuery, ForKeys, lists_by
from diagnostics.models import CellResult, SpecimenSignOff
from diagnostics.triage import ABNORMAL_CLASSES
from imaging.models import ImageAsset, Specimen, give_results


def patient_history(patient):
    """The patient's specimens in collection order, each with its sign-off versions newest
    first (``sign_off_versions``) and its cells counted; ``with_images`` adds the images.

    A cell is an image with a finished result; ``classified_count``, ``flagged_count``
    (refer to cytologist) and ``abnormal_count`` count images, so an image classified by
    two model versions counts once. Both queries are compiled once a process (keyed by the
    patient): building them took a fifth of the history page's CPU.
    """
    specimens = SPECIMENS_COUNTED(patient.pk)
    sign_offs = lists_by(SIGN_OFFS_OF_PATIENT(patient.pk), "specimen_id")
    for specimen in specimens:
        specimen.patient = patient
        specimen.sign_off_versions = sign_offs.get(specimen.pk, [])
        for sign_off in specimen.sign_off_versions:
            sign_off.specimen = specimen
    return specimens


def counted_specimens_of(patient_key):
    done = Q(images__results__status=CellResult.Status.DONE)

    def cells(condition=Q()):
        return Count("images", filter=done & condition, distinct=True)

    return (
        Specimen.objects.filter(patient_id=patient_key).order_by("collected_on", "created_at")
        .annotate(
            classified_count=cells(),
            flagged_count=cells(Q(images__results__refer_to_cytologist=True)),
            abnormal_count=cells(Q(images__results__predicted_class__in=ABNORMAL_CLASSES)),
        )
    )


SPECIMENS_COUNTED = CompiledQuery(counted_specimens_of, -1)
SIGN_OFFS_OF_PATIENT = CompiledQuery(
    lambda key: SpecimenSignOff.objects.filter(specimen__patient_id=key).newest_first(), -1)


def with_images(entries):
    """Load the images (each specimen's ``image_list``) and their results (each image's
    ``result_list``) of these entries' specimens, in two queries compiled once for each
    number of specimens. Lists rather than the managers' caches: those made a queryset for
    each image, a third of the page's CPU."""
    specimens = [entry.specimen for entry in entries]
    keys = [specimen.pk for specimen in specimens]
    if not keys:
        return entries
    images = lists_by(IMAGES_OF_SPECIMENS(keys), "specimen_id")
    for specimen in specimens:
        specimen.image_list = images.get(specimen.pk, [])
        for image in specimen.image_list:
            image.specimen = specimen
    give_results([image for specimen in specimens for image in specimen.image_list],
                 RESULTS_OF_SPECIMENS(keys))
    return entries


IMAGES_OF_SPECIMENS = ForKeys(
    lambda keys: ImageAsset.objects.filter(specimen__in=keys).order_by("uploaded_at", "pk"))
RESULTS_OF_SPECIMENS = ForKeys(
    lambda keys: CellResult.objects.filter(image__specimen__in=keys))


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
