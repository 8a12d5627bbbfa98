"""A trained classifier as a folder of files: saving, loading and checking it.

    save_classifier(classifier, "models/v1", {"version": "v1"})
    classifier = load_classifier("models/v1")

The folder holds ``head.txt`` (the head in its library's text format), ``backbone.pt`` for a
fine-tuned backbone (or a copy of the weights a frozen one was built from, when those are
another model's), ``backbone.onnx`` (the backbone exported for ONNX Runtime, see
:mod:`onnx_export`), ``explainer.npz`` when there is a Grad-CAM explainer, and
``metadata.json``: classes, preprocessing, calibration and the sha256 of every file and of
the pretrained backbone weights. Loading refuses a file whose hash does not match, since a
head only makes sense on the exact features it was trained on.

torch is imported only to save a model or to load it for the torch runtime: a worker loading
it with ``runtime="auto"`` from a folder with ``backbone.onnx`` never imports it.
"""

import logging
import shutil
from pathlib import Path

from .checksums import check_sha256, file_sha256
from .heads import HEADS
from .linear_explainer import LinearExplainer
from .metadata import read_metadata, write_metadata
from .preprocessing import Preprocessing
from .served_model import describe_starts_from

logger = logging.getLogger(__name__)

HEAD_FILE = "head.txt"
BACKBONE_FILE = "backbone.pt"
ONNX_FILE = "backbone.onnx"
RUNTIMES = ("torch", "onnx", "auto")
EXPLAINER_FILE = "explainer.npz"
ARTEFACT_FORMAT = 2


class WrongModelVersion(LookupError):
    """The model folder holds another version than the one asked for (say an upgrade
    overwrote it); its files would label results with the wrong version."""

    def __init__(self, directory, expected, found):
        super().__init__(f"{directory} holds model version {found}, not {expected}")
        self.directory, self.expected, self.found = directory, expected, found


def save_classifier(classifier, directory, metadata=None, export_onnx=True):
    """Write a fitted :class:`HybridClassifier` into ``directory``; returns its Path.

    ``metadata`` (version, training summary, validation...) is stored in ``metadata.json``
    alongside the fields needed to rebuild the classifier, which take precedence. The
    classifier's ``metadata_`` becomes what was written. With ``export_onnx`` the backbone is
    also exported to ``backbone.onnx`` for torch-free workers (skipped, with a warning, for a
    backbone that cannot be exported: workers then serve it with torch).
    """
    from .finetuning import save_weights

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    head_path = directory / HEAD_FILE
    classifier.head_.save(head_path)
    if getattr(classifier, "fine_tuned_", False):
        save_weights(classifier.backbone_, directory / BACKBONE_FILE)
    elif _carries_weights(classifier.backbone_):
        _copy_weights(classifier.backbone_.weights_file, directory / BACKBONE_FILE)
    else:
        (directory / BACKBONE_FILE).unlink(missing_ok=True)
    explainer = _write_explainer(classifier, directory)
    fields = _artefact_fields(classifier, head_path)
    fields["backbone"]["onnx"] = _write_onnx(classifier, directory) if export_onnx else None
    if fields["backbone"]["onnx"] is None:
        (directory / ONNX_FILE).unlink(missing_ok=True)
        del fields["backbone"]["onnx"]
    classifier.metadata_ = {**(metadata or {}), **fields, "explainer": explainer}
    write_metadata(directory, classifier.metadata_)
    return directory


def _carries_weights(backbone):
    # A frozen backbone built from another model's weights file (its ``origin``): the folder
    # keeps a copy, so it loads whatever becomes of that model's folder.
    return bool(getattr(backbone, "origin", None)) and backbone.weights_file is not None


def _copy_weights(source, target):
    source, target = Path(source).resolve(), Path(target)
    if source != target.resolve():
        partial = target.with_suffix(".partial")
        shutil.copyfile(source, partial)
        partial.replace(target)


def save_explainer(classifier, directory):
    """Write the classifier's ``explainer_`` into its saved folder ``directory`` and record
    it in ``metadata.json``; the other files are left as they are. Returns the Path."""
    directory = Path(directory)
    metadata = read_metadata(directory)
    metadata["explainer"] = _write_explainer(classifier, directory)
    write_metadata(directory, metadata)
    classifier.metadata_ = metadata
    return directory


def load_classifier(directory, version=None, runtime="torch", device="cpu", threads=None):
    """Load a classifier saved with :func:`save_classifier`, ready to predict.

    Checks every file against the sha256 recorded in ``metadata.json``. With ``version``,
    a folder holding another version raises :class:`WrongModelVersion` before any other
    file is read. ``runtime`` picks what runs the backbone: ``torch`` (a
    :class:`HybridClassifier`, which can also be re-fitted), ``onnx`` (a
    :class:`serving.OnnxClassifier`, no torch; the folder must hold ``backbone.onnx``) or
    ``auto`` (onnx when the folder holds it, else torch). ``device`` (auto, cpu or cuda) and
    ``threads`` (default: every core) apply to the ONNX runtime.
    """
    if runtime not in RUNTIMES:
        raise ValueError(f"Unknown runtime {runtime!r}; choose one of {', '.join(RUNTIMES)}")
    directory = Path(directory)
    metadata = read_metadata(directory)
    if version is not None and metadata.get("version") != version:
        raise WrongModelVersion(directory, version, metadata.get("version"))
    head_path = directory / metadata["head"]["file"]
    check_sha256(head_path, metadata["head"]["sha256"])
    has_onnx = bool(metadata["backbone"].get("onnx"))
    if runtime == "onnx" and not has_onnx:
        raise FileNotFoundError(f"{directory} has no {ONNX_FILE}; add it with "
                                f"`manage.py export_onnx {directory}`.")
    if runtime == "onnx" or (runtime == "auto" and has_onnx):
        from .serving import onnx_classifier

        classifier = onnx_classifier(metadata, directory, device, threads)
    else:
        classifier = recipe_classifier(metadata, directory)
    head_class, head_params = HEADS[metadata["head"]["kind"]], metadata["head"]["params"]
    classifier.head_ = head_class.load(head_path, classes=metadata["classes"], **head_params)
    classifier.classes_ = list(metadata["classes"])
    if metadata.get("calibration"):
        classifier.calibrate(metadata["calibration"])
    if metadata.get("explainer"):
        classifier.explainer_ = _load_explainer(directory, metadata["explainer"])
    classifier.blend_explainer = bool(metadata["head"].get("blend_explainer"))
    classifier.metadata_ = metadata
    return classifier


def recipe_classifier(metadata, directory=None):
    """An unfitted :class:`HybridClassifier` with a saved model's settings.

    With ``directory``, a fine-tuned model's backbone weights are loaded from it (as for
    serving); without, the backbone is the pretrained one and fine-tuning is part of the
    recipe (as for re-fitting it on other data).
    """
    from .backbones import create_backbone
    from .finetuning import FineTuning, load_weights
    from .hybrid_classifier import HybridClassifier

    preprocessing, backbone = metadata["preprocessing"], metadata["backbone"]
    fine_tuned = backbone.get("fine_tuned")
    head_class, head_params = HEADS[metadata["head"]["kind"]], metadata["head"]["params"]
    classifier = HybridClassifier(
        backbone=backbone["name"], head=head_class(**head_params),
        image_size=preprocessing["image_size"], views=preprocessing.get("views", ["identity"]),
        pretrained=backbone["pretrained"], clahe=preprocessing.get("clahe", False),
        blend_explainer=bool(metadata["head"].get("blend_explainer")),
        fine_tuning=FineTuning.from_dict(fine_tuned["settings"]) if fine_tuned else None)
    if fine_tuned and directory is not None:
        weights_path = Path(directory) / fine_tuned["file"]
        check_sha256(weights_path, fine_tuned["sha256"])
        # The fine-tuned file holds every weight: the pretrained one is not needed.
        classifier.backbone_ = load_weights(
            create_backbone(backbone["name"], pretrained=False), weights_path)
        classifier.fine_tuned_ = True
    elif backbone.get("starts_from") and directory is not None and \
            (Path(directory) / BACKBONE_FILE).is_file():
        # The frozen copy of the weights it was built from (see _carries_weights).
        classifier.backbone_ = create_backbone(backbone["name"],
                                               weights_path=Path(directory) / BACKBONE_FILE)
    classifier.preprocessing_ = Preprocessing.from_dict(preprocessing)
    classifier._ensure_backbone()
    if not getattr(classifier, "fine_tuned_", False):
        _check_backbone_weights(classifier.backbone_, backbone)
    return classifier


def weights_fields(backbone):
    """Names and sha256 of the pretrained weights files a backbone was built from (several,
    joined by "+", for a fused backbone); None for random weights."""
    files = [Path(file) for file in backbone.weights_files]
    if not files:
        return {"weights_file": None, "weights_sha256": None}
    return {"weights_file": "+".join(file.name for file in files),
            "weights_sha256": "+".join(file_sha256(file) for file in files)}


def _check_backbone_weights(backbone, recorded):
    # The head only makes sense on the exact features it was trained on; a silently
    # different weights file (e.g. a package upgrade) would shift every prediction.
    expected = recorded.get("weights_sha256")
    installed = weights_fields(backbone)
    if expected and installed["weights_sha256"] != expected:
        raise ValueError(
            f"The installed {backbone.name} weights ({installed['weights_file']}) differ "
            f"from those the model was trained with (sha256 {expected[:12]}...). Install the "
            f"package versions listed in metadata.json or re-train the model.")


def _artefact_fields(classifier, head_path):
    classifier._ensure_backbone()
    backbone = {"name": classifier.backbone, "pretrained": classifier.pretrained,
                "num_features": classifier.backbone_.num_features,
                **weights_fields(classifier.backbone_)}
    fine_tuned = getattr(classifier, "fine_tuned_", False)
    if fine_tuned:
        backbone["fine_tuned"] = {"file": BACKBONE_FILE,
                                  "sha256": file_sha256(head_path.parent / BACKBONE_FILE),
                                  "settings": classifier.fine_tuning.to_dict()}
    if getattr(classifier.backbone_, "origin", None):
        backbone["starts_from"] = describe_starts_from(classifier.backbone_.origin, fine_tuned)
    return {
        "artefact_format": ARTEFACT_FORMAT,
        "classes": list(classifier.classes_),
        "backbone": backbone,
        "head": {"kind": classifier.head_.kind, "file": head_path.name,
                 "sha256": file_sha256(head_path), "params": classifier.head_.get_params(),
                 **({"blend_explainer": True}
                    if getattr(classifier, "blend_explainer", False) else {})},
        "preprocessing": {**classifier.preprocessing_.to_dict(),
                          "views": list(classifier.views)},
        "calibration": getattr(classifier, "calibration_", None),
    }


def add_onnx_backbone(directory):
    """Export the backbone of the model saved in ``directory`` to ``backbone.onnx`` and
    record it in ``metadata.json``; other files are left as they are. Returns the entry.

    For a model saved before training exported it (``manage.py export_onnx DIR``).
    """
    from .onnx_export import export_backbone

    directory = Path(directory)
    classifier = load_classifier(directory)
    entry = export_backbone(classifier.backbone_, classifier.preprocessing_.image_size,
                            directory / ONNX_FILE)
    entry["sha256"] = file_sha256(directory / ONNX_FILE)
    metadata = read_metadata(directory)
    metadata["backbone"]["onnx"] = entry
    write_metadata(directory, metadata)
    return entry


def _write_onnx(classifier, directory):
    from .onnx_export import export_backbone

    try:
        entry = export_backbone(classifier.backbone_, classifier.preprocessing_.image_size,
                                directory / ONNX_FILE)
    except (NotImplementedError, ValueError, ImportError, RuntimeError) as error:
        logger.warning("The backbone was not exported to ONNX (%s); workers will serve this "
                       "model with torch", error)
        return None
    return {**entry, "sha256": file_sha256(directory / ONNX_FILE)}


def _write_explainer(classifier, directory):
    explainer = getattr(classifier, "explainer_", None)
    if explainer is None:
        (directory / EXPLAINER_FILE).unlink(missing_ok=True)
        return None
    explainer.save(directory / EXPLAINER_FILE)
    return {"file": EXPLAINER_FILE, "sha256": file_sha256(directory / EXPLAINER_FILE),
            **explainer.describe()}


def _load_explainer(directory, recorded):
    path = directory / recorded["file"]
    check_sha256(path, recorded["sha256"])
    explainer = LinearExplainer.load(path)
    explainer.agreement_with_head_ = recorded.get("agreement_with_head")
    return explainer
