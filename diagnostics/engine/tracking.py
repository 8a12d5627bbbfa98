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
    """Follows the cells of consecutive frames; says which of a frame's detections to count.

    Every cell seen is a track: its position, moved by each frame's estimated shift. A
    detection within ``radius`` of a track is that cell again. A track is kept for
    ``memory`` frames after it was last seen, so a cell the detector misses in one frame (a
    score near the threshold, blur) is not counted again when it is found in the next.

    A cell is counted (cut, classified) once, in the first frame where it lies whole in
    view: a detection within ``margin`` px of the edge the view is moving towards (where new
    content enters) is a cell still partly outside, whose centre and crop are off, so it is
    tracked but counted a frame or two later, once it has moved in. A cell that leaves the
    view and comes back later is counted again: a pan rarely returns.
    """

    def __init__(self, radius=20.0, memory=3, margin=48.0):
        self.radius = radius
        self.memory = memory
        self.margin = margin

    def new_cells(self, frame, x, y, last=False):
        """Boolean mask over the frame's detections (x, y arrays): True for the cells to
        count in this frame. The first frame's cells are all counted, and so are the last
        frame's still uncounted ones (``last``: the pan ends, they will not move in)."""
        points = np.column_stack([np.asarray(x, float), np.asarray(y, float)])
        current = darkness(frame)
        if getattr(self, "darkness_", None) is None or self.darkness_.shape != current.shape:
            self.tracks_, self.unseen_ = np.empty((0, 2)), np.empty(0, int)
            self.counted_ = np.empty(0, bool)
            self.shift_ = (0.0, 0.0)
        else:
            self.shift_ = frame_shift(self.darkness_, current)
            self.tracks_ = self.tracks_ + np.asarray(self.shift_)
        self.darkness_ = current
        track_of = self._follow(points)
        whole = np.ones(len(points), bool) if last else ~self._entering(points, current.shape)
        count = whole & ~self.counted_[track_of]
        self.counted_[track_of[count]] = True
        return count

    def _follow(self, points):
        """The track of each detection (new ones started); ages and forgets the others."""
        track_of = one_to_one(points, self.tracks_, self.radius)
        new = track_of < 0
        track_of[new] = len(self.tracks_) + np.arange(int(new.sum()))
        self.tracks_ = np.vstack([self.tracks_, points[new]])
        self.tracks_[track_of] = points  # where each cell is now
        self.unseen_ = np.concatenate([self.unseen_ + 1, np.zeros(int(new.sum()), int)])
        self.unseen_[track_of] = 0
        self.counted_ = np.concatenate([self.counted_, np.zeros(int(new.sum()), bool)])
        kept = self.unseen_ <= self.memory
        renumber = np.cumsum(kept) - 1
        self.tracks_, self.unseen_, self.counted_ = (
            self.tracks_[kept], self.unseen_[kept], self.counted_[kept])
        return renumber[track_of]

    def _entering(self, points, shape):
        """Which points lie within the margin of an edge that new content enters from."""
        dx, dy = self.shift_
        height, width = np.asarray(shape) * SHIFT_DOWNSAMPLE
        entering = np.zeros(len(points), bool)
        if dx < 0:  # the content moves left: new content enters on the right
            entering |= points[:, 0] > width - self.margin
        if dx > 0:
            entering |= points[:, 0] < self.margin
        if dy < 0:
            entering |= points[:, 1] > height - self.margin
        if dy > 0:
            entering |= points[:, 1] < self.margin
        return entering


def one_to_one(points, tracks, radius, neighbours=4):
    """The track each point is (an index into ``tracks``), or -1: pairs within ``radius``
    taken closest first, each point and each track used once. Detections lie close together
    (a leukocyte cluster, a nucleus and a granule beside it), so a nearest-track rule would
    let one cell's track swallow its neighbour, which would never be counted."""
    track_of = np.full(len(points), -1)
    if not len(points) or not len(tracks):
        return track_of
    distances, nearest = cKDTree(tracks).query(points, k=min(neighbours, len(tracks)),
                                                distance_upper_bound=radius)
    distances, nearest = distances.reshape(len(points), -1), nearest.reshape(len(points), -1)
    point_index = np.repeat(np.arange(len(points)), distances.shape[1])
    order = np.argsort(distances.ravel(), kind="stable")
    taken = np.zeros(len(tracks), bool)
    for pair in order:
        distance, point, track = distances.flat[pair], point_index[pair], nearest.flat[pair]
        if not np.isfinite(distance):
            break  # the rest are beyond the radius
        if track_of[point] < 0 and not taken[track]:
            track_of[point], taken[track] = track, True
    return track_of
