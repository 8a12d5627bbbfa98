"""Train the cell classifier: a thin wrapper around diagnostics.engine.training."""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from diagnostics.registry import register_model


class Command(BaseCommand):
    help = ("Extract backbone features, validate on grouped folds, fit the head on all "
            "images and save the model folder (head.txt + metadata.json).")

    def add_arguments(self, parser):
        parser.add_argument("--data", type=Path,
                            default=settings.BASE_DIR.parent / "shared" / "datasets" / "sipakmed",
                            help="folder with one sub-folder of images per class")
        parser.add_argument("--out", type=Path,
                            default=settings.BASE_DIR / "diagnostics" / "trained_models" / "default",
                            help="folder to write the trained model into")
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--folds", type=int, default=5)
        parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
        parser.add_argument("--model-version", dest="version",
                            help="name of this model version (default: recipe name and time)")

    def handle(self, *args, data, out, seed, folds, threads, version, **options):
        import torch

        from diagnostics.engine.training import describe_training, train_and_evaluate

        if not data.is_dir():
            raise CommandError(f"Data set folder {data} does not exist; pass --data DIR "
                               f"with one sub-folder of images per class.")
        torch.set_num_threads(threads)
        version = version or f"efficientnet_lite0-lightgbm-{timezone.now():%Y%m%d-%H%M%S}"
        metadata = train_and_evaluate(data, out, n_folds=folds, seed=seed, version=version)
        self.stdout.write(describe_training(metadata))
        model = register_model(out)
        self.stdout.write(self.style.SUCCESS(
            f"Saved model {model.version} to {out} and registered it; an administrator makes "
            f"it active in Django admin (Diagnostics › Model versions)."))
