"""A whole slide's cells as one Parquet table: a row per detected cell, written tile by tile.

    with CellTableWriter("cells.parquet", classes) as table:
        table.write(x, y, radius, score, probabilities, referred)   # one tile's cells
    cells = read_cell_table("cells.parquet")                          # a pyarrow.Table

Columns: ``x``, ``y`` (level-0 slide pixels), ``radius`` (level-0 pixels), ``detector_score``,
``predicted_class`` (dictionary-encoded), ``p_<class>`` for each class, ``referred``. A slide
yields 10^4-10^5 cells: a database row for each would cost far more than this file
(bench/README.md, whole slides). Rows are buffered and written in row groups of
``ROW_GROUP_ROWS``, so memory stays bounded however large the slide. No Django here.
"""
import numpy as np

ROW_GROUP_ROWS = 16_384


def _schema(classes):
    import pyarrow as pa

    return pa.schema(
        [("x", pa.float32()), ("y", pa.float32()), ("radius", pa.float32()),
         ("detector_score", pa.float32()),
         ("predicted_class", pa.dictionary(pa.int8(), pa.string()))]
        + [(f"p_{name}", pa.float32()) for name in classes]
        + [("referred", pa.bool_())])


class CellTableWriter:
    """Writes a slide's cells to ``path`` as Parquet; ``classes`` the classifier's, in order."""

    def __init__(self, path, classes):
        import pyarrow.parquet as pq

        self.classes = list(classes)
        self.schema = _schema(self.classes)
        self._writer = pq.ParquetWriter(str(path), self.schema, compression="zstd")
        self._pending, self._pending_rows, self.rows = [], 0, 0

    def write(self, x, y, radius, score, probabilities, referred):
        """Add one tile's cells: arrays of one length, ``probabilities`` (N, len(classes))."""
        import pyarrow as pa

        probabilities = np.asarray(probabilities, dtype=np.float32).reshape(len(x), -1)
        predicted = probabilities.argmax(axis=1).astype(np.int8) if len(x) else np.zeros(0, np.int8)
        columns = [np.asarray(values, dtype=np.float32) for values in (x, y, radius, score)]
        columns.append(pa.DictionaryArray.from_arrays(pa.array(predicted, pa.int8()),
                                                      pa.array(self.classes, pa.string())))
        columns += [probabilities[:, index] for index in range(len(self.classes))]
        columns.append(np.asarray(referred, dtype=bool))
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
