"""The models the workers serve: each loaded once per worker process, not once per image."""
import functools
import logging

from django.conf import settings

from diagnostics.models import ModelVersion
from diagnostics.registry import active_bethesda_model, active_model

logger = logging.getLogger(__name__)


@functools.cache
def load_model(model_dir, version):
    """The classifier of ``version``, loaded from ``model_dir`` on first use.

    Cached per (folder, version), so a task pays no file I/O once its model is loaded, and
    a folder overwritten by an upgrade is loaded afresh for the new version while the old
    one, already in memory, keeps serving the results queued for it.

    A model folder with ``backbone.onnx`` is served from it (OpenVINO or ONNX Runtime), and
    the worker never imports torch (about 1.5 GB less memory); one without it by torch, and
    so is any model while CELINSIGHT_INFERENCE_PRECISION resolves to bfloat16, which only
    the torch backbone computes.
    """
    from diagnostics.engine import WrongModelVersion, load_classifier
    from diagnostics.engine.precision import FLOAT32, resolve_precision

    precision = resolve_precision(settings.CLASSIFIER_INFERENCE_PRECISION)
    try:
        classifier = load_classifier(model_dir, version=version,
                                     runtime="auto" if precision == FLOAT32 else "torch",
                                     device=settings.CLASSIFIER_DEVICE)
    except WrongModelVersion as error:
        # Classifying with another version's weights would label results wrongly.
        raise LookupError(f"model version {version} is no longer in {model_dir}, which "
                          f"now holds {error.found}; re-queue these images") from None
    return classifier.set_inference_precision(settings.CLASSIFIER_INFERENCE_PRECISION)


def active_model_version():
    return active_model().version


def classifier_for(version):
    """The loaded classifier of a registered model version."""
    try:
        model = ModelVersion.objects.get(version=version)
    except ModelVersion.DoesNotExist:
        raise LookupError(f"model version {version} is not registered") from None
    return served_from_shared_pass(load_model(str(model.path), version))


def served_from_shared_pass(classifier):
    """The morphology ``classifier``, its backbone replaced by the active Bethesda model's
    where that one reads its pass (the same weights, more features: PrefixBackbone), so a
    worker compiles and holds one backbone, not two (its own stays uncompiled); its own
    again where the active Bethesda model changed and no longer reads it. Returned."""
    from diagnostics.engine.serving import OnnxClassifier, PrefixBackbone, reads_pass_of

    if not isinstance(classifier, OnnxClassifier):
        return classifier
    own = getattr(classifier.backbone_, "own", classifier.backbone_)
    try:
        bethesda = bethesda_classifier()
    except Exception:  # logged where the cells are classified; served on its own meanwhile
        return classifier
    if bethesda is not None and isinstance(bethesda, OnnxClassifier) and \
            reads_pass_of(bethesda, classifier):
        if getattr(classifier.backbone_, "backbone", None) is not bethesda.backbone_:
            classifier.backbone_ = PrefixBackbone(bethesda.backbone_, own)
    else:
        classifier.backbone_ = own
    return classifier


def active_classifier():
    return classifier_for(active_model_version())


def bethesda_classifier():
    """The loaded active Bethesda model, or None where the deployment has none."""
    model = active_bethesda_model()
    return None if model is None else load_model(str(model.path), model.version)


def preload_active_classifier():
    """Load the active models now, as a worker starts, so its first images do not wait for
    the runtime and the weights to load (about 1-3 s). A failure is logged: tasks try again."""
    for load in (active_classifier, bethesda_classifier):
        try:
            backbone = getattr(load(), "backbone_", None)
            getattr(backbone, "ready", lambda: None)()  # OpenVINO compiles on first use
        except Exception:
            logger.exception("An active model could not be loaded at worker start; "
                             "the first task will try again")
