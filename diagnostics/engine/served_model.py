"""What a trained model's metadata says about how the worker serves it: its role (morphology
classes or Bethesda categories) and what the probabilities stored for each cell mean.

Training writes both into ``metadata.json`` (``role``, ``served_probabilities``), so a model
trained by one command carries them; neither torch nor Django is imported here.
"""

MORPHOLOGY, BETHESDA = "morphology", "bethesda"
ROLES = (MORPHOLOGY, BETHESDA)
# Bethesda models name their negative category so (CRIC's name, or its abbreviation).
NILM_NAMES = ("negative for intraepithelial lesion", "nilm")


def model_role(metadata):
    """The recorded ``role``, else Bethesda when the classes include the negative (NILM)
    category, else morphology."""
    if metadata.get("role") in ROLES:
        return metadata["role"]
    classes = {name.strip().lower() for name in metadata.get("classes", [])}
    return BETHESDA if classes & set(NILM_NAMES) else MORPHOLOGY


def describe_served_probabilities(metadata):
    """A paragraph for ``metadata.json``: how the stored probabilities were calibrated and
    how far to trust them, how class balancing skews them, and whether the model refers."""
    calibration = metadata["calibration"]
    views = metadata["preprocessing"]["views"]
    folds = len(metadata["validation"]["per_fold_accuracy"])
    seen_on = "the cell's one view" if len(views) == 1 else f"the mean of {len(views)} views"
    head = ("the mean of the LightGBM head's and the linear explainer's (a logistic "
            "regression on the same features) class probabilities"
            if metadata["head"].get("blend_explainer") else "the head's class probabilities")
    text = (
        f"The worker stores, per cell, {head} on {seen_on}, rescaled "
        "by the temperature above: 'calibrated' here means temperature scaling (one T = "
        f"{calibration['temperature']:.3f}, fitted to minimise the log-loss of the "
        f"out-of-fold predictions of the grouped {folds}-fold cross-validation). On those "
        "out-of-fold "
        f"predictions the expected calibration error is {calibration['ece_before']:.3f} "
        f"before and {calibration['ece_after']:.3f} after the temperature (measured on the "
        "predictions T was fitted on, so slightly optimistic).")
    balancing = _class_balancing(metadata)
    if balancing:
        text += (f" {balancing}, so rare classes get more probability than their share of "
                 "the training cells.")
    return text + " " + _referral(calibration, model_role(metadata))


def _class_balancing(metadata):
    head_balanced = metadata["head"]["params"].get("class_weight") == "balanced"
    fine_tuned = metadata["backbone"].get("fine_tuned") or {}
    drawn_balanced = fine_tuned.get("settings", {}).get("class_balance") == "sqrt"
    parts = []
    if head_balanced:
        parts.append("the head weighs the classes equally (class_weight balanced)")
    if drawn_balanced:
        parts.append("fine-tuning drew rare classes more often (1/sqrt of their count)")
    sentence = " and ".join(parts)
    return sentence[:1].upper() + sentence[1:]


def _referral(calibration, role):
    rate = calibration["referral_rate"]
    if role == BETHESDA:
        return (f"The referral threshold (which would refer {rate:.0%} of cells) is not used: "
                "referral stays the morphology model's.")
    if calibration["kept_accuracy"] is None:
        return "No threshold reached the target accuracy: every cell is referred to a cytologist."
    threshold = calibration["referral_threshold"]
    return (f"A cell whose top calibrated probability is below {threshold:.3f} is referred to "
            f"a cytologist: {rate:.1%} of the out-of-fold cells, of the others "
            f"{calibration['kept_accuracy']:.1%} were classified correctly.")


def describe_starts_from(origin, fine_tuned):
    """``backbone.starts_from`` for a backbone built from another model's weights (its
    ``origin``): whether it was fine-tuned further, and so whether it shares that pass."""
    if not fine_tuned:
        return (f"{origin}, frozen (a copy is kept here as backbone.pt): a worker serving "
                "this model beside the one whose weights these are computes one backbone pass "
                "a cell.")
    return (f"{origin}, fine-tuned again on this model's training cells (settings under "
            "fine_tuned) and saved here as backbone.pt and backbone.onnx. Its weights differ "
            "from those it started from, so a worker serving both models runs two backbone "
            "passes a cell.")
