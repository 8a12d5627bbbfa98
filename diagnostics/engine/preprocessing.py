"""The one image pipeline shared by training and serving.

PIL image (any mode, any size) -> RGB -> aspect-preserving resize so the longer side is
``image_size`` -> centred on a square canvas -> normalised float tensor (3, H, W).
"""

from dataclasses import asdict, dataclass

import numpy as np
import torch
from PIL import Image

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

_RESAMPLING = {
    "bilinear": Image.Resampling.BILINEAR,
    "bicubic": Image.Resampling.BICUBIC,
    "lanczos": Image.Resampling.LANCZOS,
}


@dataclass(frozen=True)
class Preprocessing:
    """Parameters of the image pipeline; stored in an artefact's ``metadata.json``."""

    image_size: int = 224
    mean: tuple = IMAGENET_MEAN
    std: tuple = IMAGENET_STD
    resample: str = "bilinear"

    def to_dict(self):
        return {**asdict(self), "mean": list(self.mean), "std": list(self.std),
                "resize": "longer side to image_size, aspect preserved",
                "padding": "centred on a square canvas filled with the mean colour"}

    @classmethod
    def from_dict(cls, values):
        return cls(image_size=int(values["image_size"]), mean=tuple(values["mean"]),
                   std=tuple(values["std"]), resample=values.get("resample", "bilinear"))

    @property
    def pad_colour(self):
        # Padding with the mean colour makes the pad (almost) 0 after normalisation,
        # so the backbone sees "no signal" there rather than a black or white frame.
        return tuple(int(round(255 * channel_mean)) for channel_mean in self.mean)


def resize_and_pad(image, image_size=224, pad_colour=(0, 0, 0), resample="bilinear"):
    """Return an RGB ``image_size`` x ``image_size`` copy of ``image``, aspect ratio preserved.

    The longer side is scaled to ``image_size`` (small cells are enlarged) and the image is
    centred on a canvas of ``pad_colour``.
    """
    rgb = image if image.mode == "RGB" else image.convert("RGB")
    width, height = rgb.size
    scale = image_size / max(width, height)
    new_size = (max(1, round(width * scale)), max(1, round(height * scale)))
    if new_size != rgb.size:
        rgb = rgb.resize(new_size, _RESAMPLING[resample])
    if new_size == (image_size, image_size):
        return rgb
    canvas = Image.new("RGB", (image_size, image_size), pad_colour)
    canvas.paste(rgb, ((image_size - new_size[0]) // 2, (image_size - new_size[1]) // 2))
    return canvas


def images_to_batch(images, preprocessing=Preprocessing()):
    """Preprocess PIL images into one normalised float32 tensor of shape (N, 3, S, S)."""
    size = preprocessing.image_size
    pixels = np.empty((len(images), size, size, 3), dtype=np.uint8)
    for index, image in enumerate(images):
        square = resize_and_pad(image, size, preprocessing.pad_colour, preprocessing.resample)
        pixels[index] = np.asarray(square)
    return _normalise(torch.from_numpy(pixels), preprocessing)


def image_to_tensor(image, preprocessing=Preprocessing()):
    """Preprocess one PIL image into a normalised float32 tensor of shape (3, S, S)."""
    return images_to_batch([image], preprocessing)[0]


def _normalise(pixels_nhwc, preprocessing):
    scale = torch.tensor([255.0 * s for s in preprocessing.std]).view(1, 3, 1, 1)
    offset = torch.tensor([255.0 * m for m in preprocessing.mean]).view(1, 3, 1, 1)
    batch = pixels_nhwc.permute(0, 3, 1, 2).float()
    return ((batch - offset) / scale).contiguous()
