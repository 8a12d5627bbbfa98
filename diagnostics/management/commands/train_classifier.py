"""Train the cell classifier: a thin wrapper around diagnostics.engine.training."""

import tempfile
from contextlib import ExitStack
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError
from django.utils import timezone

from diagnostics.models import ModelVersion
from diagnostics.registry import register_model


def refuse_without_migrated_database():
    """The trained model is registered in the database at the end: say so before training
    for minutes, not with a traceback after."""
    try:
        ModelVersion.objects.exists()
    except DatabaseError:
        raise CommandError(
            "The database has no model registry yet: run `manage.py migrate` first (bin/run "
            "does), since the trained model is registered there.") from None


class Command(BaseCommand):
    help = ("Train a named hybrid: validate its recipe on grouped folds (fine-tuning "
            "included), calibrate on the out-of-fold predictions, fit it on all images, save "
            "the model folder (metadata.json with sha256 of every file) and register it.")

    def add_arguments(self, parser):
        parser.add_argument("--data", type=Path,
                            default=settings.BASE_DIR.parent / "shared" / "datasets" / "sipakmed",
                            help="folder with one sub-folder of images per class, or a "
                                 "CRIC-layout folder (images/ + cells.csv: cells cut around "
                                 "their nucleus centres, grouped by field of view)")
        parser.add_argument("--crop-size", type=int, default=None,
                            help="with a CRIC-layout --data: the crop size in pixels "
                                 "(default: the product's, 128)")
        parser.add_argument("--out", type=Path, default=settings.CLASSIFIER_MODEL_DIR,
                            help="folder to write the trained model into (default: the "
                                 "served model's, CELINSIGHT_MODEL_DIR: %(default)s)")
        parser.add_argument("--hybrid", default=None,
                            help="registered hybrid design (default: the shipped one); "
                                 "see --list-hybrids")
        parser.add_argument("--list-hybrids", action="store_true",
                            help="print the registered hybrid names and exit")
        parser.add_argument("--epochs", type=int, default=None,
                            help="fine-tuning epochs (hybrids that fine-tune only)")
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--folds", type=int, default=5)
        parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
        parser.add_argument("--device", default=settings.CLASSIFIER_DEVICE,
                            choices=["auto", "cpu", "cuda"],
                            help="where to fine-tune and extract features: auto (a CUDA GPU "
                                 "when present), cpu or cuda (CELINSIGHT_DEVICE: %(default)s)")
        parser.add_argument("--model-version", dest="version",
                            help="name of this model version (default: recipe name and time)")
        parser.add_argument("--include-reviews", action="store_true",
                            help="also train on the cells whose class a signer overrode (on "
                                 "signed-off specimens), with the reviewed class; validation "
                                 "keeps each specimen's cells in one fold")

    def handle(self, *args, data, out, hybrid, list_hybrids, epochs, seed, folds, threads,
               version, device, include_reviews, crop_size, **options):
        import torch

        from diagnostics.engine import available_hybrids
        from diagnostics.engine.designs import DEFAULT_HYBRID
        from diagnostics.engine.devices import DeviceUnavailable
        from diagnostics.engine.training import describe_training, train_and_evaluate

        if list_hybrids:
            self.stdout.write("\n".join(available_hybrids()))
            return
        hybrid = hybrid or DEFAULT_HYBRID
        if hybrid not in available_hybrids():
            raise CommandError(f"Unknown hybrid {hybrid!r}; available: "
                               f"{', '.join(available_hybrids())}")
        if not data.is_dir():
            raise CommandError(f"Data set folder {data} does not exist; pass --data DIR "
                               f"with one sub-folder of images per class.")
        refuse_without_migrated_database()
        torch.set_num_threads(threads)
        version = version or f"{hybrid}-{timezone.now():%Y%m%d-%H%M%S}"
        overrides = {"epochs": epochs} if epochs else {}
        cropping = {"crop_size": crop_size} if crop_size else {}
        with ExitStack() as cleanup:
            reviewed_dir = None
            if include_reviews:
                reviewed_dir = Path(cleanup.enter_context(
                    tempfile.TemporaryDirectory(prefix="celinsight-reviewed-")))
                self.stdout.write(self.export_reviews(reviewed_dir, data))
            try:
                metadata = train_and_evaluate(data, out, hybrid=hybrid, overrides=overrides,
                                              n_folds=folds, seed=seed, version=version,
                                              device=device, reviewed_dir=reviewed_dir,
                                              **cropping)
            except (FileNotFoundError, DeviceUnavailable) as error:  # weights or GPU missing
                raise CommandError(str(error)) from error
        self.stdout.write(describe_training(metadata))
        model = register_model(out)
        self.stdout.write(self.style.SUCCESS(
            f"Saved model {model.version} to {out} and registered it; {_how_it_is_served(out)}."))

    @staticmethod
    def export_reviews(folder, data):
        from diagnostics.training_data import export_reviewed_cells

        return export_reviewed_cells(folder, _classes_of(data)).describe()


def _classes_of(data):
    """The classes of a training folder: its class folders, or a CRIC layout's categories."""
    from diagnostics.engine import list_image_folder
    from diagnostics.engine.cells_csv import CELLS_CSV, read_cells_csv
    from diagnostics.engine.cric import is_cric_layout

    if is_cric_layout(data):
        return sorted({cell.label for cell in read_cells_csv(data / CELLS_CSV)})
    return list_image_folder(data).classes


def _how_it_is_served(out):
    served = {Path(folder).resolve()
              for folder in (settings.CLASSIFIER_MODEL_DIR, settings.BETHESDA_MODEL_DIR)}
    if Path(out).resolve() in served:
        # diagnostics.registry.active_model() notices the shipped folder's new version.
        return ("it replaced the served model folder of its role (CELINSIGHT_MODEL_DIR or "
                "CELINSIGHT_BETHESDA_MODEL_DIR), so if the model that folder held was the "
                "active one, new uploads are classified with this one")
    return "an administrator makes it active in Django admin (Diagnostics › Model versions)"
