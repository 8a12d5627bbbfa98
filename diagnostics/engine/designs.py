"""Registry of named hybrid designs: a backbone, its input size, views and a head.

    from diagnostics.engine import available_hybrids, create_hybrid
    clf = create_hybrid("shufflenet_v2-lightgbm").fit(images, labels)

Adding a design is one decorated function returning a :class:`HybridClassifier`;
``available_hybrids()`` lists the names. ``overrides`` change any setting of a design:
classifier arguments (``image_size``, ``views``, ``batch_size``, ``head``, ``clahe``,
``fine_tuning``), fine-tuning settings (``epochs``...) or the head's hyperparameters
(``n_estimators``, ``learning_rate``...).
"""

import dataclasses

from .finetuning import FineTuning
from .heads import LightGBMHead, XGBoostHead
from .hybrid_classifier import HybridClassifier
from .registry import Registry

HYBRIDS = Registry("hybrid")

# The shipped model (diagnostics/trained_models/default); docs/model-experiments.md has the
# grouped 5-fold figures that chose it.
DEFAULT_HYBRID = "efficientnet_lite0-finetuned-lightgbm"
ALL_VIEWS = ("identity", "hflip", "vflip", "rot180", "rot90", "rot270")
# Designs use the heads' own defaults (their ``__init__``'s), except where they say.
FINE_TUNED_LIGHTGBM = {"n_estimators": 300}
BETHESDA_LIGHTGBM = {"n_estimators": 400, "class_weight": "balanced"}
BETHESDA_FINE_TUNING = FineTuning(epochs=6, samples_per_epoch=2400, class_balance="sqrt")


def register_hybrid(name):
    """Decorator adding ``fn(pretrained=True, **overrides) -> HybridClassifier``."""
    return HYBRIDS.register(name)


def available_hybrids():
    """Sorted names accepted by :func:`create_hybrid`."""
    return HYBRIDS.names()


def create_hybrid(name, pretrained=True, **overrides):
    """Build the unfitted :class:`HybridClassifier` registered as ``name``.

    The backbone is built at once, so a missing weights file is reported here rather than
    at the first ``fit``. ``pretrained=False`` gives seeded random weights (tests only).
    An unknown ``name`` raises KeyError listing the registered ones.
    """
    classifier = HYBRIDS.create(name, pretrained=pretrained, **overrides)
    classifier._ensure_backbone()
    return classifier


def build_hybrid(backbone, head_class, head_params=None, image_size=224,
                 views=("identity",), pretrained=True, overrides=None):
    """A :class:`HybridClassifier` from a design plus ``overrides`` (see module docstring)."""
    classifier_args = {"image_size": image_size, "views": views}
    head_params = dict(head_params or {})
    fine_tuning_params = {}
    overrides = overrides or {}
    head_names = set(head_class.param_names())
    fine_tuning_names = {field.name for field in dataclasses.fields(FineTuning)}
    classifier_names = set(HybridClassifier.param_names()) - {"backbone", "pretrained"}
    for key, value in overrides.items():
        if key in classifier_names:
            classifier_args[key] = value
        elif key in head_names:
            head_params[key] = value
        elif key in fine_tuning_names:
            fine_tuning_params[key] = value
        else:
            valid = ", ".join(sorted(classifier_names | head_names | fine_tuning_names))
            raise TypeError(f"Unknown setting {key!r} for a {head_class.__name__} hybrid; "
                            f"valid settings: {valid}")
    if fine_tuning_params:
        base = classifier_args.get("fine_tuning") or FineTuning()
        classifier_args["fine_tuning"] = dataclasses.replace(base, **fine_tuning_params)
    classifier_args.setdefault("head", head_class(**head_params))
    return HybridClassifier(backbone, pretrained=pretrained, **classifier_args)


@register_hybrid("efficientnet_lite0-finetuned-lightgbm")
def efficientnet_lite0_finetuned_lightgbm(pretrained=True, **overrides):
    """The shipped default: EfficientNet-Lite0 fine-tuned on the cells at 128 px, one
    view, LightGBM head blended with the linear explainer (the mean of both heads'
    probabilities: on the joint backbone's grouped 5-fold, referral at 99% kept accuracy 14.2%
    against 17.5% for LightGBM alone, bench/morphology_head_ensemble.py). Fast enough to serve
    at >150 cells/s on two CPU cores."""
    overrides = {"fine_tuning": FineTuning(), "blend_explainer": True, **overrides}
    return build_hybrid("efficientnet_lite0", LightGBMHead, FINE_TUNED_LIGHTGBM, 128,
                        pretrained=pretrained, overrides=overrides)


@register_hybrid("efficientnet_lite0-lightgbm")
def efficientnet_lite0_lightgbm(pretrained=True, **overrides):
    """The previous default: frozen EfficientNet-Lite0 features, six views averaged."""
    return build_hybrid("efficientnet_lite0", LightGBMHead, None, 224, ALL_VIEWS,
                        pretrained, overrides)


@register_hybrid("bethesda-efficientnet_lite0-lightgbm")
def bethesda_efficientnet_lite0_lightgbm(pretrained=True, **overrides):
    """A first Bethesda cell model (train it on a CRIC-layout folder): frozen ImageNet
    EfficientNet-Lite0 features of 128 px crops in four views, LightGBM weighting each
    category equally, since CRIC has 3,555 NILM cells and 63 SCC. Trains on two CPU cores
    in about 11 minutes; a backbone fine-tuned on the cells is the next step."""
    return build_hybrid("efficientnet_lite0", LightGBMHead, BETHESDA_LIGHTGBM, 128,
                        ("identity", "hflip", "vflip", "rot90"), pretrained, overrides)


@register_hybrid("bethesda-efficientnet_lite0-lightgbm-identity")
def bethesda_efficientnet_lite0_lightgbm_identity(pretrained=True, **overrides):
    """The Bethesda design above on one view of each cell: a quarter of its backbone passes,
    so serving it beside the SIPaKMeD model costs the worker one pass a cell, not four."""
    return build_hybrid("efficientnet_lite0", LightGBMHead, BETHESDA_LIGHTGBM, 128,
                        ("identity",), pretrained, overrides)


@register_hybrid("shufflenet_v2-lightgbm")
def shufflenet_v2_lightgbm(pretrained=True, **overrides):
    """ShuffleNet V2 (x1.0) features with a LightGBM head (reference design)."""
    return build_hybrid("shufflenet_v2_x1_0", LightGBMHead, None, 224,
                        pretrained=pretrained, overrides=overrides)


@register_hybrid("inception_v3-xgboost")
def inception_v3_xgboost(pretrained=True, **overrides):
    """Inception V3 features at its native 299 px with an XGBoost head (reference design)."""
    return build_hybrid("inception_v3", XGBoostHead, None, 299, pretrained=pretrained,
                        overrides=overrides)


@register_hybrid("resnet34-lightgbm")
def resnet34_lightgbm(pretrained=True, **overrides):
    """ResNet-34 features with a LightGBM head (reference design)."""
    return build_hybrid("resnet34", LightGBMHead, None, 224,
                        pretrained=pretrained, overrides=overrides)


@register_hybrid("vgg16-lightgbm")
def vgg16_lightgbm(pretrained=True, **overrides):
    """VGG-16 (pooled conv5) features with a LightGBM head (reference design)."""
    return build_hybrid("vgg16", LightGBMHead, None, 224,
                        pretrained=pretrained, overrides=overrides)


@register_hybrid("bethesda-sipakmed_stages-lightgbm")
def bethesda_sipakmed_stages_lightgbm(pretrained=True, **overrides):
    """The Bethesda head on the SIPaKMeD model's own pass: its fine-tuned, frozen Lite0 at
    128 px with the last three stages' pooled outputs beside the head features (2528), one
    view, LightGBM weighting each category equally. Served beside the SIPaKMeD model it
    costs no backbone pass of its own; on CRIC's grouped 5-fold it beat frozen ImageNet
    features (bench/bethesda_shared_backbone.py, bench/README.md)."""
    return build_hybrid("efficientnet_lite0_sipakmed_stages", LightGBMHead, BETHESDA_LIGHTGBM,
                        128, ("identity",), pretrained, overrides)


@register_hybrid("bethesda-sipakmed_stages-finetuned-lightgbm")
def bethesda_sipakmed_stages_finetuned_lightgbm(pretrained=True, **overrides):
    """The design above with its backbone fine-tuned on the Bethesda cells (starting from
    the SIPaKMeD model's weights): six epochs of 2,400 cells drawn in proportion to
    1/sqrt(their category's count), so on CRIC ASC-H and SCC are drawn about 4.5 times as
    often as their share and NILM at 0.6 of its share. The worker then runs its own pass
    beside the SIPaKMeD model's. Grouped 5-fold on CRIC: sensitivity 0.838 at specificity
    0.90, against 0.709 for the frozen design above (bench/README.md)."""
    overrides = {"fine_tuning": BETHESDA_FINE_TUNING, **overrides}
    return build_hybrid("efficientnet_lite0_sipakmed_stages", LightGBMHead, BETHESDA_LIGHTGBM,
                        128, ("identity",), pretrained, overrides)
