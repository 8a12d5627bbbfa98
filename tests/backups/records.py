"""Clinical records with real stored files, for backup tests (tests/backups, tests/integration)."""
from django.core.files.base import ContentFile
from django.utils import timezone

from diagnostics import review
from diagnostics.models import CellResult
from imaging.uploads import store_upload

PROBABILITIES = {"Parabasal": 0.9, "Metaplastic": 0.06, "Dyskeratotic": 0.04}


def make_clinical_records(specimen, lab_staff, doctor, uploads):
    """Images stored through the upload service, classified, one reviewed, one with a heat
    map, and the specimen signed off: every kind of row and file a backup must keep."""
    store_upload(specimen, lab_staff, uploads)
    results = list(CellResult.objects.filter(image__specimen=specimen).order_by("pk"))
    for result in results:
        result.status, result.probabilities = CellResult.Status.DONE, PROBABILITIES
        result.predicted_class, result.finished_at = "Parabasal", timezone.now()
        result.save()
    results[0].heatmap.save("heatmap.png", ContentFile(b"\x89PNG heat map bytes"))
    review.review_cell(results[1], doctor, "Metaplastic")
    review.sign_off_specimen(specimen, doctor, adequacy="satisfactory", interpretation="nilm",
                            comment="Looks fine.")
    return results
