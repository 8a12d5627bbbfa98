"""train_cell_models: both cell models on one backbone, trained and registered by one command."""
import io

from django.core.management import call_command

from diagnostics.models import ModelVersion


def test_one_command_trains_and_registers_both_models_on_one_backbone(db, tmp_path, data_dir,
                                                                       cric_folder):
    stdout = io.StringIO()
    call_command("train_cell_models", "--sipakmed", str(data_dir),
                 "--cric", str(cric_folder(tmp_path / "cric")),
                 "--morphology-out", str(tmp_path / "morphology"),
                 "--bethesda-out", str(tmp_path / "bethesda"), "--work-dir", str(tmp_path / "work"),
                 "--crop-size", "48", "--folds", "2", "--epochs", "1", "--samples-per-epoch", "16",
                 "--model-version", "tiny", stdout=stdout)
    registered = {model.version: model.role for model in ModelVersion.objects.all()}
    assert registered["efficientnet_lite0-joint-tiny"] == "morphology"
    assert registered["bethesda-joint-tiny"] == "bethesda"
    assert "Abnormal (HSIL) vs normal, out of fold: sensitivity" in stdout.getvalue()
    assert stdout.getvalue().count("registered it; an administrator makes it active") == 2
    assert len(list((tmp_path / "work").glob("*.pt"))) == 3
