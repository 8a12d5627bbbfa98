"""Why a cell got its class: Grad-CAM heat maps over the cell image.

The boosted head is not differentiable, so Grad-CAM follows an *explainer* instead: a
linear model on the same backbone features (:mod:`linear_explainer`).

Training adds the explainer to a new model; this adds one to a model folder that has none
(features of the data set come from the model's own backbone, the other files are kept):

    python -m diagnostics.engine.explain --model diagnostics/trained_models/default \\
        --data ../shared/datasets/sipakmed
"""

import argparse
import json
import warnings

from .artefact import load_classifier, save_explainer
from .datasets import list_image_folder
from .linear_explainer import fit_explainer


def grad_cam_overlays(classifier, images, class_names):
    """Grad-CAM heat maps of ``class_names[i]`` over ``images[i]``, as PIL RGB images.

    The map is computed on the backbone's last convolutional layer for the explainer's
    score of the class, and laid over the prepared (resized, padded) square cell image. A
    classifier served with ONNX computes it from the exported feature map (no autograd, see
    :mod:`cam`); a torch one with pytorch-grad-cam (:mod:`grad_cam`). Raises ValueError when
    the classifier has no explainer.
    """
    explainer = getattr(classifier, "explainer_", None)
    if explainer is None:
        raise ValueError("This model has no explainer, so no Grad-CAM; add one with "
                         "`python -m diagnostics.engine.explain --model DIR --data DIR`.")
    images, class_names = list(images), list(class_names)
    if len(images) != len(class_names):
        raise ValueError(f"{len(images)} images but {len(class_names)} class names")
    if not images:
        return []
    if hasattr(classifier, "cam_overlays"):
        return classifier.cam_overlays(images, class_names)
    from .grad_cam import torch_grad_cam_overlays

    return torch_grad_cam_overlays(classifier, images, class_names)


def add_explainer(model_dir, data_dir, progress=True):
    """Fit an explainer for the model in ``model_dir`` on the images of ``data_dir`` (one
    sub-folder per class) and write it into the folder; returns the updated metadata."""
    classifier = load_classifier(model_dir)
    dataset = list_image_folder(data_dir)
    unknown = sorted(set(dataset.labels) - set(classifier.classes_))
    if unknown:
        raise ValueError(f"{data_dir} has classes the model does not know: {', '.join(unknown)}")
    trained_on = classifier.metadata_.get("training_data", {}).get("file_list_sha256")
    if trained_on and trained_on != dataset.file_list_sha256():
        warnings.warn(f"{data_dir} is not the file list the model was trained on; the "
                      f"explainer's agreement with the head is measured on these images")
    features = classifier.extract_features(dataset.images(), progress=progress)
    fit_explainer(classifier, features, dataset.labels)
    save_explainer(classifier, model_dir)
    return classifier.metadata_


def main(argv=None):
    parser = argparse.ArgumentParser(description="Add a Grad-CAM explainer to a saved model.")
    parser.add_argument("--model", required=True, help="model folder (holds metadata.json)")
    parser.add_argument("--data", required=True, help="its training images, a folder per class")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    metadata = add_explainer(args.model, args.data)
    print(json.dumps(metadata["explainer"], indent=2))


if __name__ == "__main__":
    main()
