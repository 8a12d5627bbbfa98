"""Cells a signer overrode, as labelled data for retraining (train_classifier --include-reviews).

A cell counts when a reviewer gave it another class than the model's and the specimen is
signed off (not re-opened since): its reviews are then final and a signer stood behind them.
The engine takes plain files, so the cells are written as a folder per reviewed class, each
named ``<specimen>_<result>`` (diagnostics.engine.datasets.add_reviewed_cells groups them by
specimen).
"""

from dataclasses import dataclass, field
from pathlib import PurePath

from django.db.models import Exists, F, OuterRef

from diagnostics.models import CellResult, CellReview, SpecimenSignOff
from diagnostics.review import closing_sign_off


def signed_overrides():
    """Overriding reviews of done results on signed-off specimens, one per image (its newest
    review, should several model versions' results of the image have been reviewed)."""
    signed = SpecimenSignOff.objects.filter(specimen=OuterRef("result__image__specimen"))
    reviews = (CellReview.objects
               .filter(Exists(signed), result__status=CellResult.Status.DONE)
               .exclude(reviewed_class=F("result__predicted_class"))
               .select_related("result__image__specimen")
               .order_by("-reviewed_at", "-pk"))
    closed, seen_images, overrides = {}, set(), []
    for review in reviews:
        image = review.result.image
        if image.pk in seen_images:
            continue
        seen_images.add(image.pk)
        if image.specimen_id not in closed:
            closed[image.specimen_id] = closing_sign_off(image.specimen) is not None
        if closed[image.specimen_id]:
            overrides.append(review)
    return overrides


@dataclass
class ExportedCells:
    """What :func:`export_reviewed_cells` wrote, and what it left out."""

    counts_per_class: dict = field(default_factory=dict)
    specimens: set = field(default_factory=set)
    skipped_per_class: dict = field(default_factory=dict)

    @property
    def n_cells(self):
        return sum(self.counts_per_class.values())

    def describe(self):
        counts = ", ".join(f"{name} {n}" for name, n in sorted(self.counts_per_class.items()))
        text = (f"Adding {self.n_cells} cells whose class a signer overrode, from "
                f"{len(self.specimens)} signed-off specimens{f' ({counts})' if counts else ''}.")
        if self.skipped_per_class:
            skipped = ", ".join(f"{name} {n}" for name, n in sorted(self.skipped_per_class.items()))
            text += (f" Left out, their class is not one of the data set's folders: {skipped}.")
        return text


def export_reviewed_cells(folder, classes):
    """Write the image of every :func:`signed_overrides` cell whose reviewed class is in
    ``classes`` to ``folder/<reviewed class>/<specimen>_<result><suffix>``."""
    exported = ExportedCells()
    for review in signed_overrides():
        reviewed_class, image = review.reviewed_class, review.result.image
        if reviewed_class not in classes:
            exported.skipped_per_class[reviewed_class] = (
                exported.skipped_per_class.get(reviewed_class, 0) + 1)
            continue
        suffix = PurePath(image.file.name).suffix.lower() or ".png"
        target = folder / reviewed_class / f"{image.specimen_id}_{review.result_id}{suffix}"
        target.parent.mkdir(parents=True, exist_ok=True)
        with image.file.open("rb") as stored:
            target.write_bytes(stored.read())
        exported.counts_per_class[reviewed_class] = (
            exported.counts_per_class.get(reviewed_class, 0) + 1)
        exported.specimens.add(image.specimen_id)
    return exported
