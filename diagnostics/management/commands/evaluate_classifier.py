"""Evaluate a model: its recipe by grouped cross-validation (``--data``), or the trained model
as it is on a labelled holdout set (``--holdout``). A thin wrapper around diagnostics.engine."""

import getpass
import json
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
            "set (--data): prints the table and saves evaluation.json, evaluation.md and "
            "confusion_matrix.png. With --holdout, scores the trained model as it is (no "
            "re-fitting) on labelled cells it never saw, prints (and with --json writes) the "
            "figures and records them for the admin, who sees the latest holdout evaluation "
            "of a version before making it active.")

    def add_arguments(self, parser):
        parser.add_argument("--data", type=Path, default=None,
                            help="folder with one sub-folder of images per class, for "
                                 "cross-validation of the recipe")
        parser.add_argument("--holdout", type=Path, default=None,
                            help="labelled cells the model never saw: a folder per class, or "
                                 "a folder holding images/ + cells.csv (CRIC layout)")
        parser.add_argument("--json", type=Path, default=None, dest="json_out",
                            help="with --holdout: also write the figures to this JSON file")
        parser.add_argument("--evaluated-by", default=None, metavar="USERNAME",
                            help="with --holdout: the user answerable for this evaluation, "
                                 "named in the admin and the audit trail (default: only the "
                                 "account running the command is recorded)")
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

    def handle(self, *args, data, holdout, json_out, evaluated_by, model, folds, group_pattern,
               out, seed, cache_dir, threads, **options):
        import torch

        torch.set_num_threads(threads)
        if holdout is not None:
            return self.evaluate_holdout(model_directory(model), holdout, json_out,
                                         _user_named(evaluated_by))
        if data is None:
            raise CommandError("Pass --data DIR (cross-validate the recipe) or --holdout DIR "
                               "(score the trained model on cells it never saw).")
        from diagnostics.engine.evaluation import cross_validate_recipe, write_evaluation

        if not data.is_dir():
            raise CommandError(f"Data set folder {data} does not exist; pass --data DIR "
                               f"with one sub-folder of images per class.")
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

    def evaluate_holdout(self, model_dir, holdout, json_out, evaluated_by):
        from auditlog.context import set_actor

        from diagnostics.engine import load_classifier
        from diagnostics.engine.holdout import evaluate_holdout, format_holdout_report
        from diagnostics.registry import (
            record_holdout_evaluation, refuse_another_model_under_its_version,
        )

        try:
            refuse_another_model_under_its_version(model_dir)  # before the long part
            report = evaluate_holdout(load_classifier(model_dir), holdout.resolve())
        except (FileNotFoundError, ValueError) as error:
            raise CommandError(str(error)) from error
        report["model"]["dir"] = str(model_dir)
        self.stdout.write(format_holdout_report(report))
        if json_out is not None:
            json_out.parent.mkdir(parents=True, exist_ok=True)
            json_out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
            self.stdout.write(self.style.SUCCESS(f"Saved the holdout figures to {json_out}"))
        with set_actor(evaluated_by):
            evaluation = record_holdout_evaluation(report, model_dir, evaluated_by,
                                                   _account_running_this())
        self.stdout.write(self.style.SUCCESS(
            f"Recorded as holdout evaluation {evaluation.pk} of {evaluation.model_version}: the "
            f"admin shows it before making that version active."))

    @staticmethod
    def _default_out(version):
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        return settings.BASE_DIR / "var" / "evaluations" / f"{version}-{stamp}"


def _user_named(username):
    if username is None:
        return None
    from django.contrib.auth import get_user_model

    User = get_user_model()
    try:
        return User.objects.get(**{User.USERNAME_FIELD: username})
    except User.DoesNotExist:
        raise CommandError(f"No user {username!r}; --evaluated-by takes the username of the "
                           f"person answerable for this evaluation.") from None


def _account_running_this():
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name (some containers)
        return ""
