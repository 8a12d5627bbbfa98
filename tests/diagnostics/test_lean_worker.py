"""A worker serving a model with backbone.onnx never imports torch: it classifies uploaded
cells and draws their heat maps with ONNX Runtime, in a process of its own."""
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

from diagnostics.engine.metadata import read_metadata

REPO_ROOT = Path(__file__).resolve().parents[2]

# What a solo worker does for one upload, in a fresh process: load Django and the Celery app,
# preload the active model, run the classification task on the queued results, then the
# heat-map task; finally report which heavy libraries were imported.
WORKER = """
import sys
import django
from django.core.management import call_command
django.setup()
call_command("migrate", verbosity=0)

from pathlib import Path
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
import celinsight.celery
from diagnostics import services, tasks
from diagnostics.classifier import active_classifier, preload_active_classifier
from diagnostics.models import CellResult
from imaging.models import Specimen
from imaging.uploads import store_upload
from patients.models import Patient

preload_active_classifier()
user = User.objects.create_user("lab")
patient = Patient.objects.create(mrn="LEAN", full_name="Lean", date_of_birth="1980-01-01",
                                 consent_given=True)
specimen = Specimen.objects.create(patient=patient, accession_number="LEAN",
                                   collected_on="2026-01-01")
cells = sorted(Path("demo/sample_cells").glob("*.png"))[:6]
store_upload(specimen, user, [SimpleUploadedFile(p.name, p.read_bytes()) for p in cells])
ids = list(CellResult.objects.values_list("pk", flat=True))
classified = tasks.classify_results(ids)
heatmaps = services.store_overlays(active_classifier(), list(CellResult.objects.all()))
print(type(active_classifier()).__name__, classified, heatmaps,
      sorted(name for name in ("torch", "torchvision", "pytorch_grad_cam", "xgboost")
             if name in sys.modules))
"""


@pytest.mark.skipif(not read_metadata(settings.CLASSIFIER_MODEL_DIR)["backbone"].get("onnx"),
                    reason="the shipped model has no backbone.onnx")
def test_a_worker_serving_the_onnx_backbone_never_imports_torch(tmp_path):
    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "celinsight.settings",
                   "CELINSIGHT_VAR_DIR": str(tmp_path), "CELINSIGHT_DEVICE": "cpu"}
    environment.pop("CELINSIGHT_SQLITE_PATH", None)
    completed = subprocess.run([sys.executable, "-c", WORKER], cwd=REPO_ROOT, env=environment,
                               capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip().splitlines()[-1] == "OnnxClassifier 6 6 []"
