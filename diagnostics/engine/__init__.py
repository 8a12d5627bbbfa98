"""CelInsight's ML engine: pretrained CNN features + gradient-boosted head. No Django here.

    from diagnostics.engine import load_classifier
    clf = load_classifier("diagnostics/trained_models/default")
    clf.predict_proba(list_of_pil_images)   # columns follow clf.classes_
"""

from .backbones import available_backbones, create_backbone, register_backbone
from .datasets import group_keys, grouped_holdout, grouped_kfold, list_image_folder
from .evaluation import (classification_metrics, cross_validate_recipe, evaluate,
                         expected_calibration_error, format_markdown_table,
                         save_confusion_matrix_png, write_evaluation)
from .heads import LightGBMHead, XGBoostHead
from .hybrid import HybridClassifier, load_classifier
from .hybrids import available_hybrids, create_hybrid, register_hybrid
from .preprocessing import Preprocessing, image_to_tensor, images_to_batch, resize_and_pad

__all__ = [
    "HybridClassifier", "LightGBMHead", "Preprocessing", "XGBoostHead", "available_backbones",
    "available_hybrids", "classification_metrics", "create_backbone", "create_hybrid",
    "cross_validate_recipe", "evaluate", "expected_calibration_error",
    "format_markdown_table", "group_keys", "grouped_holdout", "grouped_kfold",
    "image_to_tensor", "images_to_batch", "list_image_folder", "load_classifier",
    "register_backbone", "register_hybrid", "resize_and_pad", "save_confusion_matrix_png",
    "train_and_evaluate", "write_evaluation",
]


# Imported on call: importing .training here makes `python -m diagnostics.engine.training`
# warn that the module was already in sys.modules before it ran.
def train_and_evaluate(*args, **kwargs):
    """See :func:`diagnostics.engine.training.train_and_evaluate` (imported lazily)."""
    from .training import train_and_evaluate as train
    return train(*args, **kwargs)
