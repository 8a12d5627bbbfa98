"""Counting each cell of a panning microscope video once: frame-to-frame tracking by position.

    tracker = CellTracker(radius=20)
    for frame, detections in frames:
        new = tracker.new_cells(frame, detections.x, detections.y)   # boolean mask

Consecutive frames of a pan show the same cells shifted by the stage's movement. The shift is
estimated by phase correlation of the two frames' darkness (one FFT each, on a half-size
copy), then a detection lying within ``radius`` pixels of a detection of the previous frame,
moved by that shift, is the same cell seen again. Only the new ones are cut and classified.
(bench/video_tracking.py measures this against sampling frames far apart.)

No Django here; numpy and scipy only.
"""

import numpy as np
from scipy.spatial import cKDTree

# Phase correlation on a copy this many times smaller: a pan's shift is tens to hundreds of
# pixels, and a 2-pixel error is far inside the matching radius.
SHIFT_DOWNSAMPLE = 2


def darkness(frame):
    """A frame as a float32 (H, W) darkness map: 255 minus its luminance, mean removed."""
    pixels = np.asarray(frame, dtype=np.float32)
    if pixels.ndim == 3:
        pixels = pixels[..., :3] @ np.array([0.299, 0.587, 0.114], np.float32)
    pixels = 255.0 - pixels[::SHIFT_DOWNSAMPLE, ::SHIFT_DOWNSAMPLE]
    return pixels - pixels.mean()


def frame_shift(previous, current):
    """(dx, dy): how far the content of ``previous`` moved to appear in ``current``, in the
    frames' pixels, by phase correlation. Both are darkness maps of the same shape."""
    window = np.outer(np.hanning(previous.shape[0]), np.hanning(previous.shape[1]))
    cross = np.fft.rfft2(current * window) * np.conj(np.fft.rfft2(previous * window))
    cross /= np.abs(cross) + 1e-9
    correlation = np.fft.irfft2(cross, s=previous.shape)
    dy, dx = np.unravel_index(np.argmax(correlation), correlation.shape)
    height, width = previous.shape
    dy = dy - height if dy > height // 2 else dy
    dx = dx - width if dx > width // 2 else dx
    return float(dx * SHIFT_DOWNSAMPLE), float(dy * SHIFT_DOWNSAMPLE)


class CellTracker:
    """Remembers the previous frame's detections; says which of a new frame's are new.

    A cell that leaves the view and comes back later is counted again: the tracker follows
    consecutive frames only, as a pan rarely returns.
    """

    def __init__(self, radius=20.0):
        self.radius = radius

    def new_cells(self, frame, x, y):
        """Boolean mask over the frame's detections (x, y arrays): True for cells not seen in
        the previous frame. The first frame's cells are all new."""
        points = np.column_stack([np.asarray(x, float), np.asarray(y, float)])
        current = darkness(frame)
        previous_points = getattr(self, "points_", None)
        if previous_points is None or self.darkness_.shape != current.shape:
            new = np.ones(len(points), bool)
        else:
            self.shift_ = frame_shift(self.darkness_, current)
            new = self._unmatched(previous_points + np.asarray(self.shift_), points)
        self.points_, self.darkness_ = points, current
        return new

    def _unmatched(self, expected, points):
        if not len(expected) or not len(points):
            return np.ones(len(points), bool)
        distances, _ = cKDTree(expected).query(points, k=1)
        return distances > self.radius
