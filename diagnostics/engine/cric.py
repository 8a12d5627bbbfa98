"""Training cells from a CRIC-layout folder: fields of view (``images/``) with their marked
nucleus centres and Bethesda categories (``cells.csv``), cut as the slide pipeline cuts them.

    crops_dir = cut_cric_crops("../shared/datasets/cric", 128, ".cache/crops")
    dataset = list_image_folder(crops_dir)      # a folder per category
    groups = group_keys(dataset, CRIC_GROUP_PATTERN, per_class=False)   # one group per field

Crops are written once as PNG (lossless: the pixels crops.py cut) to a folder named by the
crop size and the sha256 of ``cells.csv`` and the fields' names, so a second run, and the
feature cache keyed on file names and times, reuse them.
"""

import hashlib
from pathlib import Path

from PIL import Image

from .cells_csv import CELLS_CSV, read_cells_csv
from .checksums import file_sha256
from .crops import cut_cell_crops

# Crops are named <field stem>__<cell id>.png: the field is the group (all its cells on one
# side of every split, whatever their category).
CRIC_GROUP_PATTERN = r"^(.+)__"
DONE_MARKER = ".complete"


def is_cric_layout(path):
    """Whether ``path`` holds ``images/`` and ``cells.csv``."""
    path = Path(path)
    return (path / CELLS_CSV).is_file() and (path / "images").is_dir()


def cut_cric_crops(root, crop_size, crops_root):
    """Cut every marked cell of the CRIC-layout folder ``root`` into
    ``crops_root/<key>/<category>/<field stem>__<cell id>.png``; returns that folder.

    Reuses a folder that a previous call completed. Raises FileNotFoundError naming a field
    that cells.csv lists and images/ lacks.
    """
    root = Path(root)
    cells = read_cells_csv(root / CELLS_CSV)
    by_field = cells.groupby_image()
    key = hashlib.sha256("\n".join(
        [f"crop {crop_size}", f"{CELLS_CSV} {file_sha256(root / CELLS_CSV)}", *sorted(by_field)]
    ).encode("utf-8")).hexdigest()[:16]
    out = Path(crops_root) / f"{root.name}-{crop_size}px-{key}"
    if (out / DONE_MARKER).is_file():
        return out
    for field_name, field_cells in by_field.items():
        field_path = root / "images" / field_name
        if not field_path.is_file():
            raise FileNotFoundError(f"{CELLS_CSV} names {field_name}, which is not in "
                                    f"{root / 'images'}; restore it or remove its rows.")
        with Image.open(field_path) as field:
            crops = cut_cell_crops(field, [(cell.x, cell.y) for cell in field_cells], crop_size)
        for cell, crop in zip(field_cells, crops):
            target = out / cell.label / f"{Path(field_name).stem}__{cell.cell_id}.png"
            target.parent.mkdir(parents=True, exist_ok=True)
            crop.save(target)
    (out / DONE_MARKER).write_text("crops cut by diagnostics.engine.crops\n")
    return out
