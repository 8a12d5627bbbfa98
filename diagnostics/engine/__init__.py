"""CelInsight's ML engine: pretrained CNN features + gradient-boosted head. No Django here.

    from diagnostics.engine import load_classifier, save_classifier
    clf = load_classifier("diagnostics/trained_models/default")
    clf.predict_proba(list_of_pil_images)   # columns follow clf.classes_
    save_classifier(clf, "elsewhere", {"version": "copy-1"})

The names below are imported from their modules on first use, so importing one light module
(say the metadata.json reader, which the web process uses) does not import torch.
"""

import importlib

# Public name -> the module that defines it.
_EXPORTS = {
    "DETECTORS": "cell_detector", "NucleusDetector": "cell_detector",
    "find_candidates": "cell_detector",
    "load_detector": "cell_detector_artefact", "save_detector": "cell_detector_artefact",
    "cross_validate_detector": "cell_detector_training",
    "read_marked_fields": "cell_detector_training",
    "train_detector_folder": "cell_detector_training",
    "cut_cell_crop": "crops", "cut_cell_crops": "crops",
    "available_backbones": "backbones", "create_backbone": "backbones",
    "register_backbone": "backbones",
    "group_keys": "datasets", "grouped_holdout": "datasets", "grouped_kfold": "datasets",
    "list_image_folder": "datasets",
    "classification_metrics": "evaluation", "cross_validate_recipe": "evaluation",
    "evaluate": "evaluation", "expected_calibration_error": "evaluation",
    "format_markdown_table": "evaluation", "save_confusion_matrix_png": "evaluation",
    "evaluate_holdout": "holdout",
    "write_evaluation": "evaluation",
    "LightGBMHead": "heads", "XGBoostHead": "heads",
    "WrongModelVersion": "artefact", "load_classifier": "artefact",
    "save_classifier": "artefact",
    "HybridClassifier": "hybrid_classifier",
    "available_hybrids": "designs", "create_hybrid": "designs", "register_hybrid": "designs",
    "Preprocessing": "preprocessing", "image_to_tensor": "preprocessing",
    "images_to_batch": "preprocessing", "resize_and_pad": "preprocessing",
    "train_and_evaluate": "training",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
