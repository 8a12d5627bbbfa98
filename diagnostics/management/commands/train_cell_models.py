"""Train both cell models on one backbone: a thin wrapper around
diagnostics.engine.joint_training."""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from diagnostics.management.commands.train_classifier import (
    _how_it_is_served, refuse_without_migrated_database)
from diagnostics.registry import register_model

SHARED = settings.BASE_DIR.parent / "shared" / "datasets"


class Command(BaseCommand):
    help = ("Train the morphology (SIPaKMeD) and Bethesda (CRIC) cell models on one "
            "EfficientNet-Lite0 fine-tuned on both data sets together, so the workers serve "
            "both with one backbone pass a cell: grouped k-fold validation of both (each fold "
            "fine-tunes on that fold's training cells of both), calibration on the out-of-fold "
            "predictions, the fit on every cell, both folders saved and registered.")

    def add_arguments(self, parser):
        parser.add_argument("--sipakmed", type=Path, default=SHARED / "sipakmed",
                            help="folder with one sub-folder of cell images per morphology class")
        parser.add_argument("--cric", type=Path, default=SHARED / "cric",
                            help="CRIC-layout folder (images/ + cells.csv)")
        parser.add_argument("--morphology-out", type=Path, default=settings.CLASSIFIER_MODEL_DIR,
                            help="folder of the morphology model (default: %(default)s)")
        parser.add_argument("--bethesda-out", type=Path, default=settings.BETHESDA_MODEL_DIR,
                            help="folder of the Bethesda model (default: %(default)s)")
        parser.add_argument("--epochs", type=int, default=None, help="fine-tuning epochs")
        parser.add_argument("--samples-per-epoch", type=int, default=None,
                            help="cells drawn per fine-tuning epoch")
        parser.add_argument("--crop-size", type=int, default=None,
                            help="CRIC crop size in pixels (default: the product's, 128)")
        parser.add_argument("--work-dir", type=Path, default=None,
                            help="where each fold's fine-tuned weights are kept, so an "
                                 "interrupted run resumes (default: .cache/joint)")
        parser.add_argument("--folds", type=int, default=5)
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
        parser.add_argument("--device", default=settings.CLASSIFIER_DEVICE,
                            choices=["auto", "cpu", "cuda"])
        parser.add_argument("--model-version", dest="version",
                            help="version suffix: the models are named "
                                 "efficientnet_lite0-joint-SUFFIX and bethesda-joint-SUFFIX "
                                 "(default: the time)")

    def handle(self, *args, sipakmed, cric, morphology_out, bethesda_out, epochs,
               samples_per_epoch, crop_size, work_dir, folds, seed, threads, device, version,
               **options):
        import dataclasses

        import torch

        from diagnostics.engine.devices import DeviceUnavailable
        from diagnostics.engine.joint_training import JOINT_FINE_TUNING, train_joint
        from diagnostics.engine.training import describe_training

        for folder in (sipakmed, cric):
            if not folder.is_dir():
                raise CommandError(f"Data set folder {folder} does not exist.")
        refuse_without_migrated_database()
        torch.set_num_threads(threads)
        suffix = version or f"{timezone.now():%Y%m%d-%H%M%S}"
        changed = {"epochs": epochs, "samples_per_epoch": samples_per_epoch}
        fine_tuning = dataclasses.replace(
            JOINT_FINE_TUNING, **{name: value for name, value in changed.items() if value})
        given = {"crop_size": crop_size, "work_dir": work_dir}
        try:
            saved = train_joint(sipakmed, cric, morphology_out, bethesda_out, fine_tuning,
                                n_folds=folds, seed=seed, device=device,
                                versions=(f"efficientnet_lite0-joint-{suffix}",
                                          f"bethesda-joint-{suffix}"),
                                **{name: value for name, value in given.items() if value})
        except (FileNotFoundError, DeviceUnavailable) as error:
            raise CommandError(str(error)) from error
        for metadata, out in zip(saved, (morphology_out, bethesda_out)):
            self.stdout.write(describe_training(metadata))
            model = register_model(out)
            self.stdout.write(self.style.SUCCESS(
                f"Saved model {model.version} to {out} and registered it; "
                f"{_how_it_is_served(out)}."))
