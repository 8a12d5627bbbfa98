"""train_classifier on a CRIC-layout folder: the Bethesda model trains by one command."""
import io
import json

from django.core.management import call_command

NILM, HSIL = "Negative for intraepithelial lesion", "HSIL"


def test_a_cric_folder_trains_the_bethesda_design_by_one_command(db, tmp_path, cric_folder):
    stdout = io.StringIO()
    call_command("train_classifier", "--data", str(cric_folder(tmp_path / "cric")),
                 "--out", str(tmp_path / "model"), "--hybrid",
                 "bethesda-efficientnet_lite0-lightgbm", "--crop-size", "48", "--folds", "2",
                 "--model-version", "bethesda-tiny-1", stdout=stdout)
    metadata = json.loads((tmp_path / "model" / "metadata.json").read_text())
    assert metadata["classes"] == [HSIL, NILM] and metadata["crop"]["size"] == 48
    assert metadata["head"]["params"]["class_weight"] == "balanced"
    assert "Abnormal (HSIL) vs normal, out of fold: sensitivity" in stdout.getvalue()
