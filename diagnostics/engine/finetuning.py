"""Fine-tune a backbone on labelled cells before its features feed the boosted head.

ImageNet features describe cells only loosely (grouped 5-fold accuracy 0.87 at 128 px with
frozen EfficientNet-Lite0). A few epochs of supervised training with a throw-away linear
classifier on top make the pooled features separate the five cell classes; the boosted head
is then fitted on features of the fine-tuned backbone, as with a frozen one.
"""

from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F
from tqdm.auto import tqdm

from .preprocessing import normalise, square_pixel_array


@dataclass(frozen=True)
class FineTuning:
    """Settings of :func:`fine_tune`; stored in an artefact's ``metadata.json``."""

    epochs: int = 8
    batch_size: int = 32
    backbone_learning_rate: float = 5e-4
    classifier_learning_rate: float = 5e-3
    weight_decay: float = 1e-2
    label_smoothing: float = 0.1
    dropout: float = 0.2
    colour_jitter: float = 0.1
    seed: int = 0
    # Each epoch draws this many cells (with replacement) instead of going through every
    # cell once; None: every cell once an epoch.
    samples_per_epoch: int | None = None
    # "sqrt": cells are drawn with probability proportional to 1 / sqrt(their class's count),
    # so rare classes are seen more often without repeating each cell of a 63-cell class a
    # dozen times an epoch, as drawing every class equally would on CRIC.
    class_balance: str = "none"

    def to_dict(self):
        return {**asdict(self),
                "augmentation": "random flips and 90-degree rotations, brightness and "
                                "contrast jitter of +-colour_jitter",
                "schedule": "AdamW, one-cycle learning rate, cross-entropy with label "
                            "smoothing; weights rounded to float16 afterwards"}

    @classmethod
    def from_dict(cls, values):
        fields = cls.__dataclass_fields__
        return cls(**{name: value for name, value in values.items() if name in fields})


def square_pixels(images, preprocessing):
    """Resize and pad PIL images once into a uint8 tensor (N, S, S, 3) for training."""
    return torch.from_numpy(square_pixel_array(images, preprocessing))


def fine_tune(backbone, pixels, labels, preprocessing, settings=FineTuning(), progress=False,
              device="cpu"):
    """Train ``backbone`` in place on ``pixels`` (uint8 N,S,S,3) and integer ``labels``.

    Returns the backbone in eval mode with gradients off and its weights rounded to
    float16 values, so a float16 copy on disk reproduces its features exactly. ``device``
    ("cpu" or "cuda") is where the epochs run; the backbone is returned on the CPU.
    """
    labels = torch.as_tensor(np.asarray(labels), dtype=torch.long)
    generator = torch.Generator().manual_seed(settings.seed)
    torch.manual_seed(settings.seed)
    n_classes = int(labels.max()) + 1
    classifier = nn.Sequential(nn.Dropout(settings.dropout),
                               nn.Linear(backbone.num_features, n_classes))
    backbone.to(device)
    classifier.to(device)
    optimiser = torch.optim.AdamW(
        [{"params": backbone.parameters(), "lr": settings.backbone_learning_rate},
         {"params": classifier.parameters(), "lr": settings.classifier_learning_rate}],
        weight_decay=settings.weight_decay)
    steps_per_epoch = _steps_per_epoch(len(labels), settings)
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimiser, max_lr=[settings.backbone_learning_rate, settings.classifier_learning_rate],
        total_steps=settings.epochs * steps_per_epoch, pct_start=0.15)
    backbone.requires_grad_(True)
    backbone.train()
    classifier.train()
    for epoch in range(settings.epochs):
        batches = _epoch_order(labels, settings, generator).split(settings.batch_size)
        batches = batches[:steps_per_epoch]
        if progress:
            batches = tqdm(batches, desc=f"fine-tune epoch {epoch + 1}/{settings.epochs}",
                           unit="batch")
        for indices in batches:
            batch = augment(pixels[indices], settings.colour_jitter, generator).to(device)
            logits = classifier(backbone(normalise(batch, preprocessing)))
            loss = F.cross_entropy(logits, labels[indices].to(device),
                                   label_smoothing=settings.label_smoothing)
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            schedule.step()
    backbone.to("cpu")
    backbone.eval()
    backbone.requires_grad_(False)
    round_to_float16(backbone)
    return backbone


def _steps_per_epoch(n_cells, settings):
    if settings.samples_per_epoch is None:
        return -(-n_cells // settings.batch_size)
    return max(1, settings.samples_per_epoch // settings.batch_size)


def _epoch_order(labels, settings, generator):
    """Indices of the cells one epoch trains on, in order (see :class:`FineTuning`)."""
    if settings.samples_per_epoch is None and settings.class_balance == "none":
        return torch.randperm(len(labels), generator=generator)
    if settings.class_balance not in ("none", "sqrt"):
        raise ValueError(f"Unknown class_balance {settings.class_balance!r}: none or sqrt")
    counts = torch.bincount(labels).double()
    weights = counts.rsqrt()[labels] if settings.class_balance == "sqrt" \
        else torch.ones(len(labels), dtype=torch.double)
    n_samples = settings.samples_per_epoch or len(labels)
    return torch.multinomial(weights, n_samples, replacement=True, generator=generator)


def augment(pixels, colour_jitter, generator):
    """Random dihedral transform and brightness/contrast jitter of a uint8 NHWC batch.

    Returns float NHWC pixels on the 0-255 scale (not clipped: jitter may leave it).
    """
    batch = pixels.float()
    n = len(batch)
    turns = torch.randint(0, 4, (n,), generator=generator)
    flips = torch.rand(n, generator=generator) < 0.5
    batch = torch.stack([
        torch.rot90(image.flip(1) if flip else image, int(turn), dims=(0, 1))
        for image, turn, flip in zip(batch, turns, flips)])
    if colour_jitter:
        brightness = 1 + colour_jitter * (2 * torch.rand(n, 1, 1, 1, generator=generator) - 1)
        contrast = 1 + colour_jitter * (2 * torch.rand(n, 1, 1, 1, generator=generator) - 1)
        mean = batch.mean(dim=(1, 2, 3), keepdim=True)
        batch = ((batch - mean) * contrast + mean) * brightness
    return batch


def round_to_float16(module):
    """Round every floating-point parameter and buffer to the nearest float16 value."""
    with torch.no_grad():
        for tensor in list(module.parameters()) + list(module.buffers()):
            if tensor.is_floating_point():
                tensor.copy_(tensor.half().float())
    return module


def save_weights(backbone, path):
    """Write the backbone's weights as float16 (half the size; exact after rounding)."""
    state = {name: tensor.half() if tensor.is_floating_point() else tensor
             for name, tensor in backbone.body.state_dict().items()}
    torch.save(state, path)


def load_weights(backbone, path):
    """Load weights written by :func:`save_weights` into ``backbone``."""
    state = torch.load(path, map_location="cpu", weights_only=True)
    reference = backbone.body.state_dict()
    state = {name: tensor.to(reference[name].dtype) if name in reference else tensor
             for name, tensor in state.items()}
    backbone.body.load_state_dict(state, strict=True)
    return backbone
