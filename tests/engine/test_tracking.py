"""Video tracking: the shift between frames of a pan is found by phase correlation, and a cell
seen in several consecutive frames is new only once."""
import numpy as np

from diagnostics.engine.tracking import CellTracker, darkness, frame_shift


def panorama(seed=0, size=(400, 900), cells=40):
    """A pale field with dark round nuclei at random places; returns it and their centres."""
    random = np.random.default_rng(seed)
    rows, columns = np.mgrid[:size[0], :size[1]]
    pixels = np.full(size, 230.0)
    centres = np.column_stack([random.uniform(20, size[1] - 20, cells),
                               random.uniform(20, size[0] - 20, cells)])
    for x, y in centres:
        pixels[np.hypot(columns - x, rows - y) < 7] = 60
    pixels += random.normal(0, 3, size)
    return pixels.clip(0, 255).astype(np.uint8), centres


def frames_of_pan(pixels, centres, width=300, step=37):
    """Windows sliding right by ``step`` px; each with the centres inside it (window pixels)."""
    for left in range(0, pixels.shape[1] - width + 1, step):
        inside = (centres[:, 0] >= left) & (centres[:, 0] < left + width)
        yield pixels[:, left:left + width], centres[inside] - [left, 0]


def test_the_shift_of_a_pan_is_found():
    pixels, _ = panorama()
    dx, dy = frame_shift(darkness(pixels[:, 100:400]), darkness(pixels[:, 137:437]))
    assert abs(dx - -37) <= 2 and abs(dy) <= 2  # the content moved 37 px left


def test_each_cell_of_a_pan_is_new_once():
    pixels, centres = panorama()
    tracker = CellTracker(radius=10)
    frames = list(frames_of_pan(pixels, centres))
    new = sum(int(tracker.new_cells(frame, *inside.T, last=index == len(frames) - 1).sum())
              for index, (frame, inside) in enumerate(frames))
    assert abs(new - len(centres)) <= 1


def test_a_cell_missed_in_one_frame_is_not_counted_again():
    pixels, centres = panorama(seed=1)
    tracker = CellTracker(radius=10, memory=2)
    frames = list(frames_of_pan(pixels, centres))
    counted = 0
    for index, (frame, inside) in enumerate(frames):
        if index == 3:
            inside = inside[1:]  # the detector missed one cell in this frame only
        counted += int(tracker.new_cells(frame, *inside.T, last=index == len(frames) - 1).sum())
    assert abs(counted - len(centres)) <= 1


def test_a_cell_entering_the_view_is_counted_once_it_is_whole_in_view():
    pixels, centres = panorama(seed=2)
    tracker = CellTracker(radius=10, margin=40)
    counted_at = {}
    for index, (frame, inside) in enumerate(frames_of_pan(pixels, centres)):
        for x, y in inside[tracker.new_cells(frame, *inside.T)]:
            counted_at.setdefault(index, []).append(x)
    later_frames = [x for index, xs in counted_at.items() if index > 0 for x in xs]
    assert later_frames and max(later_frames) <= 300 - 40  # never in the entering band


def test_frames_of_another_size_start_afresh():
    tracker = CellTracker()
    assert tracker.new_cells(np.zeros((50, 60)), [10.0], [10.0]).tolist() == [True]
    assert tracker.new_cells(np.zeros((40, 60)), [10.0], [10.0]).tolist() == [True]
