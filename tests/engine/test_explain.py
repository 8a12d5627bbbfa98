import json

import numpy as np
import pytest
import torch
from PIL import Image

from diagnostics.engine import (HybridClassifier, LightGBMHead, create_backbone, load_classifier,
                                save_classifier, train_and_evaluate)
from diagnostics.engine.artefact import file_sha256
from diagnostics.engine.explain import grad_cam_overlays, main
from diagnostics.engine.linear_explainer import fit_explainer

CLASSES = ["Dyskeratotic", "Parabasal", "Superficial-Intermediate"]
IMAGE_SIZE = 64


def generated_cells(count_per_class=3, seed=0):
    """Noise with a bright disc whose size depends on the class: PIL images and labels."""
    rng = np.random.default_rng(seed)
    images, labels = [], []
    yy, xx = np.mgrid[:40, :48]
    for index, name in enumerate(CLASSES):
        for _ in range(count_per_class):
            pixels = rng.integers(0, 120, (40, 48, 3)).astype(np.uint8)
            disc = (yy - 20) ** 2 + (xx - 24) ** 2 < (5 + 5 * index) ** 2
            pixels[disc] = [200, 80 + 40 * index, 160]
            images.append(Image.fromarray(pixels))
            labels.append(name)
    return images, labels


@pytest.fixture(scope="module")
def cells():
    return generated_cells()


def tiny_classifier(images, labels):
    head = LightGBMHead(n_estimators=5, num_leaves=4, min_child_samples=1)
    return HybridClassifier(head=head, image_size=IMAGE_SIZE, views=["identity", "hflip"],
                            pretrained=False).fit(images, labels)


@pytest.fixture(scope="module")
def explained(cells):
    images, labels = cells
    classifier = tiny_classifier(images, labels)
    fit_explainer(classifier, classifier.extract_features(images), labels)
    return classifier


def test_explainer_scores_the_model_classes_and_records_its_agreement(explained, cells):
    explainer = explained.explainer_
    assert explainer.classes_ == explained.classes_ == CLASSES
    assert 0 <= explainer.agreement_with_head_ <= 1
    features = explained.extract_features(cells[0], views=["identity"])[0]
    assert explainer.decision_function(features).shape == (len(cells[0]), len(CLASSES))


def test_explainer_is_saved_as_numpy_arrays_with_its_sha256(explained, tmp_path):
    save_classifier(explained, tmp_path, {"version": "explained-1"})
    recorded = json.loads((tmp_path / "metadata.json").read_text())["explainer"]
    assert recorded["file"] == "explainer.npz"
    assert recorded["sha256"] == file_sha256(tmp_path / "explainer.npz")
    assert recorded["agreement_with_head"] == explained.explainer_.agreement_with_head_
    with np.load(tmp_path / "explainer.npz", allow_pickle=False) as arrays:
        assert list(arrays["classes"]) == CLASSES
    loaded = load_classifier(tmp_path)
    assert np.array_equal(loaded.explainer_.coef_, explained.explainer_.coef_)


def test_edited_explainer_file_is_refused(explained, tmp_path):
    save_classifier(explained, tmp_path)
    with open(tmp_path / "explainer.npz", "ab") as stream:
        stream.write(b"\0")
    with pytest.raises(ValueError, match="sha256"):
        load_classifier(tmp_path)


def test_a_model_without_explainer_loads_and_has_no_grad_cam(cells, tmp_path):
    plain = tiny_classifier(*cells)
    save_classifier(plain, tmp_path)
    loaded = load_classifier(tmp_path)
    assert loaded.metadata_["explainer"] is None and not (tmp_path / "explainer.npz").exists()
    assert loaded.predict_proba(cells[0][:2]).shape == (2, len(CLASSES))
    with pytest.raises(ValueError, match="no explainer"):
        grad_cam_overlays(loaded, cells[0][:1], CLASSES[:1])


def test_overlays_colour_the_prepared_cell_image(explained, cells):
    images = cells[0][:3]
    overlays = grad_cam_overlays(explained, images, CLASSES)
    prepared = explained.prepare_pixels(images).numpy()
    assert [(o.mode, o.size) for o in overlays] == [("RGB", (IMAGE_SIZE, IMAGE_SIZE))] * 3
    assert all(not np.array_equal(np.asarray(o), cell) for o, cell in zip(overlays, prepared))
    assert grad_cam_overlays(explained, [], []) == []


def test_grad_cam_leaves_the_serving_backbone_frozen(explained, cells):
    grad_cam_overlays(explained, cells[0][:1], CLASSES[:1])
    assert not any(p.requires_grad for p in explained.backbone_.parameters())
    assert all(p.grad is None for p in explained.backbone_.parameters())


@pytest.mark.parametrize("name", ["efficientnet_lite0", "shufflenet_v2_x1_0", "resnet34",
                                  "efficientnet_lite0+shufflenet_v2_x1_0"])
def test_backbones_name_their_last_convolutional_maps_for_grad_cam(name):
    backbone = create_backbone(name, pretrained=False)
    seen = []
    handles = [layer.register_forward_hook(lambda m, i, out: seen.append(out.shape))
               for layer in backbone.cam_layers()]
    with torch.inference_mode():
        backbone(torch.zeros(1, 3, 64, 64))
    for handle in handles:
        handle.remove()
    assert seen and all(len(shape) == 4 and shape[-1] == 2 for shape in seen)


def test_the_command_adds_an_explainer_and_keeps_the_other_files(cells, tmp_path):
    model_dir, data_dir = tmp_path / "model", tmp_path / "data"
    save_classifier(tiny_classifier(*cells), model_dir, {"version": "plain-1"})
    for index, (image, label) in enumerate(zip(*cells)):
        (data_dir / label).mkdir(parents=True, exist_ok=True)
        image.save(data_dir / label / f"{index:03d}_01.png")
    head_sha = file_sha256(model_dir / "head.txt")
    main(["--model", str(model_dir), "--data", str(data_dir), "--threads", "1"])
    metadata = json.loads((model_dir / "metadata.json").read_text())
    assert metadata["version"] == "plain-1" and metadata["head"]["sha256"] == head_sha
    assert metadata["explainer"]["sha256"] == file_sha256(model_dir / "explainer.npz")
    assert len(grad_cam_overlays(load_classifier(model_dir), cells[0][:1], CLASSES[:1])) == 1


def test_training_saves_an_explainer_with_the_final_model(tiny_dataset_dir, tmp_path):
    overrides = {"image_size": 64, "n_estimators": 5, "min_child_samples": 1}
    metadata = train_and_evaluate(tiny_dataset_dir, tmp_path / "model", n_folds=2,
                                  hybrid="efficientnet_lite0-lightgbm", overrides=overrides,
                                  cache_dir=tmp_path / "cache", progress=False)
    assert metadata["explainer"]["classes"] == metadata["classes"]
    assert metadata["explainer"]["agreement_with_head"] > 0.5
    assert load_classifier(tmp_path / "model").explainer_ is not None
