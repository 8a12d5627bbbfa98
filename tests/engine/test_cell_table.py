"""A slide's cell table: both models' classes per cell; a tile the Bethesda model gave no
categories for is written with none (null, NaN), and the table still reads."""
import numpy as np

from diagnostics.engine.cell_table import CellTableWriter, read_cell_table


def test_a_tile_without_bethesda_predictions_has_null_categories(tmp_path):
    path = tmp_path / "cells.parquet"
    with CellTableWriter(path, ["A", "B"], ["NILM", "LSIL"]) as table:
        table.write([1, 2], [3, 4], [5, 5], [0.5, 0.6], [[0.9, 0.1], [0.2, 0.8]], [False, True],
                    [[0.3, 0.7], [0.6, 0.4]])
        table.write([7], [8], [5], [0.7], [[0.4, 0.6]], [False])
    cells = read_cell_table(path).to_pydict()
    assert cells["predicted_class"] == ["A", "B", "B"]
    assert cells["bethesda_category"] == ["LSIL", "NILM", None]
    assert np.isnan(cells["b_NILM"][2]) and cells["b_LSIL"][:2] == [np.float32(0.7), np.float32(0.4)]


def test_without_bethesda_classes_the_table_has_the_morphology_columns_only(tmp_path):
    path = tmp_path / "cells.parquet"
    with CellTableWriter(path, ["A", "B"]) as table:
        table.write([1], [2], [3], [0.5], [[0.2, 0.8]], [False])
    assert read_cell_table(path).column_names == [
        "x", "y", "radius", "detector_score", "predicted_class", "p_A", "p_B", "referred"]
