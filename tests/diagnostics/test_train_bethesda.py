"""train_classifier on a CRIC-layout folder: the Bethesda model trains by one command."""
import io
import json

import numpy as np
from django.core.management import call_command
from PIL import Image

NILM, HSIL = "Negative for intraepithelial lesion", "HSIL"


def cric_folder(root):
    """Four fields of view, each with three NILM cells and one HSIL cell."""
    (root / "images").mkdir(parents=True)
    rng = np.random.default_rng(0)
    rows = ["image,cell_id,bethesda_system,x,y"]
    for field in range(4):
        pixels = rng.integers(100, 220, (120, 160, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(root / "images" / f"f{field}.jpg")
        rows += [f"f{field}.jpg,{field}{i},{NILM},{20 + 25 * i},80" for i in range(3)]
        rows.append(f"f{field}.jpg,{field}9,{HSIL},110,30")
    (root / "cells.csv").write_text("\n".join(rows) + "\n")
    return root


def test_a_cric_folder_trains_the_bethesda_design_by_one_command(db, tmp_path):
    stdout = io.StringIO()
    call_command("train_classifier", "--data", str(cric_folder(tmp_path / "cric")),
                 "--out", str(tmp_path / "model"), "--hybrid",
                 "bethesda-efficientnet_lite0-lightgbm", "--crop-size", "48", "--folds", "2",
                 "--model-version", "bethesda-tiny-1", stdout=stdout)
    metadata = json.loads((tmp_path / "model" / "metadata.json").read_text())
    assert metadata["classes"] == [HSIL, NILM] and metadata["crop"]["size"] == 48
    assert metadata["head"]["params"]["class_weight"] == "balanced"
    assert "Abnormal (HSIL) vs normal, out of fold: sensitivity" in stdout.getvalue()
