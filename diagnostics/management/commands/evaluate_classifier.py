"""Evaluate a model's recipe: a thin wrapper around diagnostics.engine.evaluation."""

from datetime import datetime
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from diagnostics.engine.datasets import DEFAULT_GROUP_PATTERN


def model_directory(model):
    """The folder of a registered model version, or ``model`` itself if it is a folder."""
    from diagnostics.models import ModelVersion
    from diagnostics.registry import active_model

    if model is None:
        return active_model().path
    if Path(model).is_dir():
        return Path(model)
    try:
        return ModelVersion.objects.get(version=model).path
    except ModelVersion.DoesNotExist:
        raise CommandError(f"{model} is neither a model folder nor a registered model version; "
                           f"registered: {', '.join(ModelVersion.objects.values_list('version', flat=True))}")


class Command(BaseCommand):
    help = ("Grouped k-fold cross-validation of a model's recipe (backbone, views, head "
            "settings from its metadata.json), re-fitted per fold on a folder-per-class data "
            "set. Prints the table and saves evaluation.json, evaluation.md and "
            "confusion_matrix.png.")

    def add_arguments(self, parser):
        parser.add_argument("--data", type=Path, required=True,
                            help="folder with one sub-folder of images per class")
        parser.add_argument("--model", default=None,
                            help="registered model version, or a trained model folder; its "
                                 "metadata.json gives the recipe (default: the active model)")
        parser.add_argument("--folds", type=int, default=5)
        parser.add_argument("--group-pattern", default=DEFAULT_GROUP_PATTERN,
                            help="regex on file names; its first group keeps related cells "
                                 "in the same fold (unmatched files are their own group; "
                                 "default: %(default)s, SIPaKMeD's cluster image number)")
        parser.add_argument("--out", type=Path, default=None,
                            help="folder for the results (default: "
                                 "var/evaluations/<model version>-<timestamp>/)")
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--cache-dir", type=Path, default=None,
                            help="feature cache folder (default: .cache/features)")
        parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")

    def handle(self, *args, data, model, folds, group_pattern, out, seed, cache_dir, threads,
               **options):
        import torch

        from diagnostics.engine.evaluation import cross_validate_recipe, write_evaluation

        if not data.is_dir():
            raise CommandError(f"Data set folder {data} does not exist; pass --data DIR "
                               f"with one sub-folder of images per class.")
        torch.set_num_threads(threads)
        model = model_directory(model)
        try:
            report = cross_validate_recipe(data, model, n_folds=folds, seed=seed,
                                           group_pattern=group_pattern, cache_dir=cache_dir,
                                           progress=options["verbosity"] >= 1)
        except (FileNotFoundError, ValueError) as error:
            raise CommandError(str(error)) from error
        out = out or self._default_out(report["model"]["version"] or model.name)
        paths = write_evaluation(report, out)
        self.stdout.write((out / "evaluation.md").read_text(encoding="utf-8"))
        self.stdout.write(self.style.SUCCESS(
            f"Saved {', '.join(path.name for path in paths)} to {out}"))

    @staticmethod
    def _default_out(version):
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        return settings.BASE_DIR / "var" / "evaluations" / f"{version}-{stamp}"
