"""The one image pipeline shared by training and serving.

PIL image (any mode, any size) -> RGB -> aspect-preserving resize so the longer side is
``image_size`` -> optional contrast enhancement (CLAHE) -> centred on a square canvas ->
normalised float tensor (3, H, W).

Nothing here imports torch at import time: the lean worker prepares and normalises pixels
with numpy (:func:`square_pixel_array`, :func:`normalise_array`) for an ONNX backbone; the
torch functions (:func:`normalise`, :func:`images_to_batch`) import it when called, and give
bit-identical values (the same float32 operations in the same order).
"""

from dataclasses import asdict, dataclass

import cv2
import numpy as np
from PIL import Image

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

CLAHE_SETTINGS = {"colour_space": "Lab, lightness channel", "clip_limit": 2.0,
                  "tile_grid": [4, 4]}

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
    clahe: bool = False

    def to_dict(self):
        return {**asdict(self), "mean": list(self.mean), "std": list(self.std),
                "resize": "longer side to image_size, aspect preserved",
                "clahe_settings": CLAHE_SETTINGS if self.clahe else None,
                "padding": "centred on a square canvas filled with the mean colour"}

    @classmethod
    def from_dict(cls, values):
        return cls(image_size=int(values["image_size"]), mean=tuple(values["mean"]),
                   std=tuple(values["std"]), resample=values.get("resample", "bilinear"),
                   clahe=bool(values.get("clahe", False)))

    def prepare(self, image):
        """The square RGB PIL image the backbone sees, before normalisation."""
        resized = resize_longer_side(image, self.image_size, self.resample)
        if self.clahe:
            resized = enhance_contrast(resized)
        return pad_to_square(resized, self.image_size, self.pad_colour)

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
    resized = resize_longer_side(image, image_size, resample)
    return pad_to_square(resized, image_size, pad_colour)


def resize_longer_side(image, image_size, resample="bilinear"):
    """RGB copy of ``image`` whose longer side is ``image_size``, aspect ratio preserved."""
    rgb = image if image.mode == "RGB" else image.convert("RGB")
    width, height = rgb.size
    scale = image_size / max(width, height)
    new_size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return rgb.resize(new_size, _RESAMPLING[resample]) if new_size != rgb.size else rgb


def pad_to_square(image, image_size, pad_colour):
    if image.size == (image_size, image_size):
        return image
    canvas = Image.new("RGB", (image_size, image_size), pad_colour)
    canvas.paste(image, ((image_size - image.width) // 2, (image_size - image.height) // 2))
    return canvas


def enhance_contrast(image):
    """CLAHE on the lightness channel (Lab), leaving hue alone: evens out uneven staining."""
    lab = cv2.cvtColor(np.asarray(image), cv2.COLOR_RGB2LAB)
    clahe = cv2.createCLAHE(clipLimit=CLAHE_SETTINGS["clip_limit"],
                            tileGridSize=tuple(CLAHE_SETTINGS["tile_grid"]))
    lab[..., 0] = clahe.apply(np.ascontiguousarray(lab[..., 0]))
    return Image.fromarray(cv2.cvtColor(lab, cv2.COLOR_LAB2RGB))


def square_pixel_array(images, preprocessing):
    """Resize and pad PIL images into one uint8 numpy array (N, S, S, 3)."""
    size = preprocessing.image_size
    pixels = np.empty((len(images), size, size, 3), dtype=np.uint8)
    for index, image in enumerate(images):
        pixels[index] = np.asarray(preprocessing.prepare(image))
    return pixels


def images_to_batch(images, preprocessing=Preprocessing()):
    """Preprocess PIL images into one normalised float32 tensor of shape (N, 3, S, S)."""
    import torch

    return normalise(torch.from_numpy(square_pixel_array(images, preprocessing)), preprocessing)


def image_to_tensor(image, preprocessing=Preprocessing()):
    """Preprocess one PIL image into a normalised float32 tensor of shape (3, S, S)."""
    return images_to_batch([image], preprocessing)[0]


def normalise(pixels_nhwc, preprocessing):
    """Pixels (N, S, S, 3) on the 0-255 scale -> normalised float32 (N, 3, S, S).

    The result keeps the pixels' channels-last memory layout, the one the backbones compute
    in, so no copy is made to change it (two copies per batch before). A numpy array is
    taken as it is (no copy).
    """
    import torch

    if isinstance(pixels_nhwc, np.ndarray):
        pixels_nhwc = torch.from_numpy(pixels_nhwc)
    device = pixels_nhwc.device
    scale = torch.tensor([255.0 * s for s in preprocessing.std], device=device).view(1, 3, 1, 1)
    offset = torch.tensor([255.0 * m for m in preprocessing.mean], device=device).view(1, 3, 1, 1)
    batch = pixels_nhwc.permute(0, 3, 1, 2).to(torch.float32, copy=True)
    return batch.sub_(offset).div_(scale)


def normalise_array(pixels_nhwc, preprocessing):
    """:func:`normalise` in numpy: uint8 (N, S, S, 3) -> float32 (N, 3, S, S), C-contiguous.

    Subtracts then divides in float32 with the same constants as the torch function, so the
    values are bit for bit the same. Each channel is subtracted straight into its plane of
    the output: about 6x faster than transposing into a float32 copy first (0.03 against
    0.17 ms a 128 px cell), the same values.
    """
    pixels = np.asarray(pixels_nhwc)
    offset = np.asarray([255.0 * m for m in preprocessing.mean], np.float32)
    scale = np.asarray([255.0 * s for s in preprocessing.std], np.float32).reshape(1, 3, 1, 1)
    batch = np.empty((pixels.shape[0], 3, *pixels.shape[1:3]), np.float32)
    for channel in range(3):
        np.subtract(pixels[..., channel], offset[channel], out=batch[:, channel],
                    dtype=np.float32)
    batch /= scale
    return batch
