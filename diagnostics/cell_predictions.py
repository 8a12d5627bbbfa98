"""Predict cells' classes with the served models and set them on their (unsaved) results:
the morphology model and, where one is active, the Bethesda model, each cell prepared once.

diagnostics.services uses it for stored cells it reads back, diagnostics.field_cells for the
crops the worker has just cut from a field, which it classifies from memory before storing
them. Nothing here writes to the database.
"""
import logging
import time
from typing import NamedTuple

import numpy as np
from django.utils import timezone

from diagnostics.classifier import bethesda_classifier
from diagnostics.models import CellResult

logger = logging.getLogger(__name__)


def preparation_of(classifier):
    """What decides how a classifier prepares an image (size, normalisation, enhancement):
    two models alike are given the same pixels."""
    preprocessing = getattr(classifier, "preprocessing_", None)
    return repr(preprocessing) if preprocessing is not None else id(classifier)


def prepared_pixels(images, classifiers):
    """The PIL images prepared for each of ``classifiers``: one (n, size, size, 3) array per
    classifier, computed once for classifiers that prepare images alike."""
    prepared = {}
    for classifier in classifiers:
        key = preparation_of(classifier)
        if key not in prepared:
            prepared[key] = np.asarray(classifier.prepare_pixels(images))
    return [prepared[preparation_of(classifier)] for classifier in classifiers]


class ClassifiedCrops(NamedTuple):
    """Crops' unsaved results, classified by ``classifier`` (which says which need heat maps)."""

    classifier: object
    results: list


def loaded_bethesda_classifier():
    """The active Bethesda model, loaded; None where there is none or it cannot be loaded
    (logged): the cells still get their morphology class."""
    try:
        return bethesda_classifier()
    except Exception:
        logger.exception("The Bethesda model could not be loaded; cells are classified "
                         "without a Bethesda category")
        return None


def predict_results(classifier, bethesda, results, pixels, started):
    """Predict and set the classes of ``results`` from their prepared ``pixels`` (per
    classifier, as prepared_pixels gives them): the morphology model's, which raises on
    failure, and the Bethesda model's where there is one, whose failure is logged and leaves
    the cells without a category. ``started`` (time.perf_counter()) is when their
    classification began: the time per image counts from it."""
    names = [f"result {result.pk}" if result.pk else result.image.original_name
             for result in results]  # a field's crops are classified before they are saved
    probabilities, bethesda_probabilities = predicted_probabilities(
        classifier, bethesda, pixels, names)
    if bethesda_probabilities is not None:
        apply_bethesda_predictions(results, bethesda_probabilities, bethesda.classes_,
                                   bethesda.version)
    referrals = classifier.needs_referral(probabilities)
    seconds_per_image = (time.perf_counter() - started) / max(len(results), 1)
    apply_predictions(results, probabilities, referrals, classifier.classes_, seconds_per_image)


def predicted_probabilities(classifier, bethesda, pixels, names):
    """(morphology probabilities, Bethesda probabilities or None) of cells' prepared
    ``pixels`` (per classifier); ``names`` say which cells in a log message. The morphology
    model's failure raises; the Bethesda model's is logged and gives None. Where the
    Bethesda model reads the morphology model's own pass (shares_pass), the backbone runs
    once a cell for both."""
    shared = bethesda is not None and shares_pass(classifier, bethesda)
    features = shared_features(bethesda, pixels[1], names) if shared else None
    if features is None:
        probabilities = classifier.predict_proba_pixels(pixels[0])
        return probabilities, bethesda and bethesda_probabilities(bethesda, names, pixels[1])
    width = classifier.metadata_["backbone"]["num_features"]
    probabilities = classifier.predict_proba_features(features[..., :width])
    return probabilities, bethesda_probabilities(bethesda, names, features=features)


def shares_pass(classifier, bethesda):
    """Whether the Bethesda model's features begin with the morphology model's own (see
    diagnostics.engine.serving.reads_pass_of), so one backbone pass serves both."""
    from diagnostics.engine.serving import reads_pass_of

    try:
        return reads_pass_of(bethesda, classifier)
    except (AttributeError, KeyError):  # a model without metadata (built in a test)
        return False


def shared_features(bethesda, pixels, names):
    """The Bethesda backbone's features (1, n, d) of the cells, or None where it failed
    (logged: each model then runs on its own, so the morphology classes still stand)."""
    try:
        return bethesda.pixel_features(pixels)
    except Exception:
        logger.exception("The shared backbone pass failed on %s; the models run one after "
                         "the other", names)
        return None


def apply_predictions(results, probabilities, referrals, classes, seconds_per_image):
    """Set the predictions on the (unsaved) results."""
    finished_at = timezone.now()
    for result, row, refer in zip(results, probabilities, referrals):
        result.probabilities = {name: float(p) for name, p in zip(classes, row)}
        result.predicted_class = max(result.probabilities, key=result.probabilities.get)
        result.refer_to_cytologist = bool(refer)
        result.status = CellResult.Status.DONE
        result.seconds_taken = seconds_per_image
        result.finished_at = finished_at


def apply_bethesda_predictions(results, probabilities, classes, model_version):
    """Set the Bethesda model's categories and calibrated probabilities on the results."""
    for result, row in zip(results, probabilities):
        result.bethesda_probabilities = {name: float(p) for name, p in zip(classes, row)}
        result.bethesda_category = max(result.bethesda_probabilities,
                                       key=result.bethesda_probabilities.get)
        result.bethesda_model_version = model_version


def bethesda_probabilities(bethesda, names, pixels=None, features=None):
    """The Bethesda model's probabilities of prepared ``pixels``, or of its backbone's
    ``features`` where the shared pass computed them; None where it failed (logged: the
    cells keep their morphology class only)."""
    try:
        return (bethesda.predict_proba_pixels(pixels) if features is None
                else bethesda.predict_proba_features(features))
    except Exception:
        logger.exception("The Bethesda model failed on %s; they keep their morphology class "
                         "only", names)
        return None
