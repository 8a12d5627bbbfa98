"""``cells.csv`` of a CRIC-layout folder: its one reader.

One row per marked cell: ``image, cell_id, bethesda_system, x, y``, where (x, y) is the
nucleus centre in the field's own pixels and ``bethesda_system`` the cell's category.
"""

import csv
from dataclasses import dataclass
from pathlib import Path

CELLS_CSV = "cells.csv"
REQUIRED_COLUMNS = ("image", "cell_id", "bethesda_system", "x", "y")


@dataclass(frozen=True)
class MarkedCell:
    image: str
    cell_id: str
    label: str
    x: float
    y: float


class MarkedCells(list):
    """The rows of a ``cells.csv``, in file order."""

    def groupby_image(self):
        """{image file name: its cells}, fields in order of first appearance."""
        by_image = {}
        for cell in self:
            by_image.setdefault(cell.image, []).append(cell)
        return by_image


def read_cells_csv(path):
    """The cells of a ``cells.csv`` as :class:`MarkedCell` rows.

    Raises ValueError naming the missing columns, or the line of a row whose centre is not
    a number.
    """
    path = Path(path)
    with open(path, newline="", encoding="utf-8-sig") as stream:
        reader = csv.DictReader(stream)
        missing = [name for name in REQUIRED_COLUMNS if name not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f"{path} lacks the column(s) {', '.join(missing)}; it needs "
                             f"{', '.join(REQUIRED_COLUMNS)}.")
        cells = MarkedCells()
        for line, row in enumerate(reader, start=2):
            try:
                cells.append(MarkedCell(row["image"], row["cell_id"],
                                        row["bethesda_system"].strip(),
                                        float(row["x"]), float(row["y"])))
            except (TypeError, ValueError):
                raise ValueError(f"{path}, line {line}: x and y must be numbers "
                                 f"(got {row['x']!r}, {row['y']!r}).") from None
    return cells
