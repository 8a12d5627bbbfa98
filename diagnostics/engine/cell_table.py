"""A whole slide's cells as one Parquet table: a row per detected cell, written tile by tile.

    with CellTableWriter("cells.parquet", classes, bethesda_classes) as table:
        table.write(x, y, radius, score, probabilities, referred,   # one tile's cells
                    bethesda_probabilities)
    cells = read_cell_table("cells.parquet")                          # a pyarrow.Table

Columns: ``x``, ``y`` (level-0 slide pixels), ``radius`` (level-0 pixels), ``detector_score``,
``predicted_class`` (dictionary-encoded), ``p_<class>`` for each class, ``referred``; with
Bethesda classes, ``bethesda_category`` (dictionary-encoded, empty where the Bethesda model
gave none for a tile) and ``b_<category>`` for each (NaN where none). A slide
yields 10^4-10^5 cells: a database row for each would cost far more than this file
(bench/README.md, whole slides). Rows are buffered and written in row groups of
``ROW_GROUP_ROWS``, so memory stays bounded however large the slide. No Django here.
"""
import numpy as np

ROW_GROUP_ROWS = 16_384


def _schema(classes, bethesda_classes=()):
    import pyarrow as pa

    bethesda = [("bethesda_category", pa.dictionary(pa.int8(), pa.string()))] + [
        (f"b_{name}", pa.float32()) for name in bethesda_classes] if bethesda_classes else []
    return pa.schema(
        [("x", pa.float32()), ("y", pa.float32()), ("radius", pa.float32()),
         ("detector_score", pa.float32()),
         ("predicted_class", pa.dictionary(pa.int8(), pa.string()))]
        + [(f"p_{name}", pa.float32()) for name in classes]
        + [("referred", pa.bool_())] + bethesda)


def _classes_column(probabilities, classes):
    """The most probable class of each row, dictionary-encoded (null for a row of NaN)."""
    import pyarrow as pa

    known = ~np.isnan(probabilities).any(axis=1) if len(probabilities) else np.zeros(0, bool)
    indices = np.where(known, np.nan_to_num(probabilities, nan=0).argmax(axis=1), 0) \
        if len(probabilities) else np.zeros(0, np.int8)
    return pa.DictionaryArray.from_arrays(
        pa.array(np.asarray(indices, np.int8), pa.int8(), mask=~known),
        pa.array(classes, pa.string()))


class CellTableWriter:
    """Writes a slide's cells to ``path`` as Parquet; ``classes`` the classifier's, in order,
    and ``bethesda_classes`` the Bethesda model's where it classifies them too."""

    def __init__(self, path, classes, bethesda_classes=()):
        import pyarrow.parquet as pq

        self.classes, self.bethesda_classes = list(classes), list(bethesda_classes or ())
        self.schema = _schema(self.classes, self.bethesda_classes)
        self._writer = pq.ParquetWriter(str(path), self.schema, compression="zstd")
        self._pending, self._pending_rows, self.rows = [], 0, 0

    def write(self, x, y, radius, score, probabilities, referred, bethesda_probabilities=None):
        """Add one tile's cells: arrays of one length, ``probabilities`` (N, len(classes)),
        ``bethesda_probabilities`` (N, len(bethesda_classes)) or None where the Bethesda
        model gave none for this tile."""
        import pyarrow as pa

        probabilities = np.asarray(probabilities, dtype=np.float32).reshape(len(x), -1)
        columns = [np.asarray(values, dtype=np.float32) for values in (x, y, radius, score)]
        columns.append(_classes_column(probabilities, self.classes))
        columns += [probabilities[:, index] for index in range(len(self.classes))]
        columns.append(np.asarray(referred, dtype=bool))
        if self.bethesda_classes:
            bethesda = np.full((len(x), len(self.bethesda_classes)), np.nan, np.float32) \
                if bethesda_probabilities is None else \
                np.asarray(bethesda_probabilities, dtype=np.float32).reshape(len(x), -1)
            columns.append(_classes_column(bethesda, self.bethesda_classes))
            columns += [bethesda[:, index] for index in range(len(self.bethesda_classes))]
        self._pending.append(pa.Table.from_arrays(columns, schema=self.schema))
        self._pending_rows += len(x)
        self.rows += len(x)
        if self._pending_rows >= ROW_GROUP_ROWS:
            self._flush()

    def _flush(self):
        import pyarrow as pa

        if self._pending:
            self._writer.write_table(pa.concat_tables(self._pending).combine_chunks())
        self._pending, self._pending_rows = [], 0

    def close(self):
        self._flush()
        self._writer.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def read_cell_table(source):
    """The cell table of ``source`` (a path or a binary file object) as a pyarrow.Table."""
    import pyarrow.parquet as pq

    return pq.read_table(source)
