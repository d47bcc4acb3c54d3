"""``memokit convert``: the signals file of a data folder, validated, written as Parquet.

Every field is written as text, as ``signals.csv`` holds it (``created`` as ISO text or null,
``found_by`` joined with ";"), so a build from the Parquet file gives the same site as a build
from the file it was made from. The file is written beside its target and renamed into place.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from ..model import SIGNAL_FIELDS, InputError, Problem
from .columnar import STRING
from .validate import Dataset, load_dataset

PARQUET = "signals.parquet"
#: Rows per row group: a reader streams the file a group at a time.
ROW_GROUP = 131_072


def convert(data_dir: Path, target: Path | None = None) -> tuple[Path, Dataset]:
    """Validate ``data_dir`` and write its signals to ``target`` (default: ``signals.parquet`` in
    it); return where, and the dataset. Invalid data raises ``InputError``, and nothing is written."""
    dataset = load_dataset(data_dir)
    target = target if target is not None else data_dir / PARQUET
    if target.resolve() == dataset.source_path.resolve():
        raise InputError([Problem(str(target), None, None, "the Parquet file would replace the signals file it is "
                                                           "made from; choose another --out")])
    table = pa.Table.from_pandas(dataset.frame[list(SIGNAL_FIELDS)], preserve_index=False)
    table = table.cast(pa.schema([(name, STRING) for name in SIGNAL_FIELDS]))
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{target.name}-", dir=target.parent)
    os.close(handle)
    try:
        pq.write_table(table, temporary, row_group_size=ROW_GROUP, compression="zstd")
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return target, dataset
