"""What a restore must bring back, in a form two databases can be compared by: every row of
the clinical records and their audit trail, all fields exact, and each stored file's sha256
as read back from storage. Used by tests/backups and tests/integration/test_backup_restore.py
(there also in a process of its own, pointed at the restored database and bucket)."""
import hashlib
import json

from auditlog.models import LogEntry
from django.contrib.auth.models import User
from django.core import serializers
from django.core.files.storage import default_storage
from guardian.models import UserObjectPermission

from diagnostics.models import CellResult, CellReview, SpecimenSignOff
from imaging.models import ImageAsset, Specimen, UploadBatch
from patients.models import Patient

MODELS = {"patients": Patient, "specimens": Specimen, "upload batches": UploadBatch,
          "images": ImageAsset, "results": CellResult, "reviews": CellReview,
          "sign-offs": SpecimenSignOff, "audit entries": LogEntry, "users": User,
          "object permissions": UserObjectPermission}


def rows(model):
    """Every row, every field; str() of a timestamp keeps its microseconds."""
    python = serializers.serialize("python", model._base_manager.order_by("pk"))
    return json.loads(json.dumps(python, default=str))


def stored_files():
    names = set(ImageAsset.objects.values_list("file", flat=True))
    names |= set(CellResult.objects.exclude(heatmap="").values_list("heatmap", flat=True))
    checksums = {}
    for name in sorted(names):
        with default_storage.open(name, "rb") as content:
            checksums[name] = hashlib.sha256(content.read()).hexdigest()
    return checksums


def inventory():
    return {"rows": {kind: rows(model) for kind, model in MODELS.items()},
            "files": stored_files()}

