"""Export a saved model's backbone to ONNX: a thin wrapper around diagnostics.engine.onnx_export."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = ("Export the backbone of a saved model folder to backbone.onnx (features and the "
            "Grad-CAM feature map) and record it with its sha256 in metadata.json, so workers "
            "serve the model with ONNX Runtime, without torch. The other files are not "
            "changed. Training does this for new models; this is for models saved before.")

    def add_arguments(self, parser):
        parser.add_argument("model_dir", type=Path, help="the model folder (holds metadata.json)")
        parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")

    def handle(self, *args, model_dir, threads, **options):
        import torch

        from diagnostics.engine.artefact import add_onnx_backbone
        from diagnostics.engine.onnx_export import ExportNotSupported

        torch.set_num_threads(threads)
        try:
            entry = add_onnx_backbone(model_dir)
        except (FileNotFoundError, ExportNotSupported) as error:
            raise CommandError(str(error)) from error
        difference = entry["export_check_max_abs_difference"]
        self.stdout.write(self.style.SUCCESS(
            f"Wrote {model_dir / entry['file']} (sha256 {entry['sha256'][:12]}...; largest "
            f"difference from torch on a check batch {difference:.1e}) and recorded it in "
            f"{model_dir / 'metadata.json'}."))
