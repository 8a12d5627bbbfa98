"""Labelled cells for the training and evaluation commands: the demo cells as a
folder-per-class data set named NNN_MM like SIPaKMeD's crops; a Bethesda model that reads
the morphology model's backbone pass."""
import shutil
from pathlib import Path

import pytest
from PIL import Image

from tests.engine.conftest import make_cric_folder

SAMPLE_CELLS_DIR = Path(__file__).resolve().parents[2] / "demo" / "sample_cells"
CLASSES = ["Dyskeratotic", "Parabasal", "Superficial-Intermediate"]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    """Folder-per-class copy of the demo cells, named NNN_MM like SIPaKMeD's crops."""
    root = tmp_path_factory.mktemp("cells")
    for class_name in CLASSES:
        (root / class_name).mkdir()
        for path in sorted(SAMPLE_CELLS_DIR.glob(f"{class_name}_*.png")):
            shutil.copy(path, root / class_name / path.name.removeprefix(f"{class_name}_"))
    return root


@pytest.fixture
def cric_folder():
    """A function making a CRIC-layout folder (images/ + cells.csv) under the path given:
    four fields of view, each with three NILM cells and one HSIL cell."""
    return make_cric_folder


@pytest.fixture(scope="module")
def shared_pass_folder(tmp_path_factory):
    """A Bethesda model that reads the shipped morphology model's pass (its fine-tuned
    weights, frozen, with the stage taps; a head fitted on a few cells), whichever Bethesda
    model ships: the worker's one-pass route is tested on its own."""
    return saved_bethesda_model(tmp_path_factory, "bethesda-sipakmed_stages-lightgbm",
                                "shared-pass")


@pytest.fixture
def shared_pass(db, shared_pass_folder):
    return activated(shared_pass_folder)


@pytest.fixture(scope="module")
def own_pass_folder(tmp_path_factory):
    """A Bethesda model whose backbone was fine-tuned again after the morphology model's
    (one short epoch on a few cells): the worker runs its pass beside the morphology one."""
    return saved_bethesda_model(tmp_path_factory, "bethesda-sipakmed_stages-finetuned-lightgbm",
                                "own-pass", epochs=1, samples_per_epoch=8, batch_size=8)


@pytest.fixture
def own_pass(db, own_pass_folder):
    return activated(own_pass_folder)


def saved_bethesda_model(tmp_path_factory, design, name, **overrides):
    """The Bethesda ``design`` fitted on a few demo cells, saved as version
    ``bethesda-NAME-test``; returns its folder."""
    from diagnostics.engine import create_hybrid, save_classifier

    classifier = create_hybrid(design, n_estimators=5, **overrides)
    return save_classifier(classifier.fit(*bethesda_cells()),
                           tmp_path_factory.mktemp(f"{name}-bethesda"),
                           {"version": f"bethesda-{name}-test", "role": "bethesda"})


def activated(folder):
    from diagnostics import registry

    return registry.activate_model(registry.register_model(folder))


def bethesda_cells():
    """Twelve demo cells labelled with three Bethesda categories in turn."""
    paths = sorted(SAMPLE_CELLS_DIR.glob("*.png"))[:12]
    images = [Image.open(path).convert("RGB") for path in paths]
    labels = [("Negative for intraepithelial lesion", "LSIL", "HSIL")[index % 3]
              for index in range(len(images))]
    return images, labels
