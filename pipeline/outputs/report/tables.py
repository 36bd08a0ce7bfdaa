"""Read the published Parquet tables back for the report, which is rebuilt from them alone (OUTPUTS.md).

Rows come from the store's reader; this adds what pages need to compare rows across classes: every
timestamp column as UTC-aware (classes may be written with different time zones, which would otherwise
leave an object column after concatenation) and the partition key as text.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa

from pipeline.outputs import store
from pipeline.outputs.schemas import PARTITION_KEY, UNPARTITIONED, schema


def read_table(out_dir: Path, table: str) -> pd.DataFrame:
    """All rows of `OUT/<table>/`, every declared column present, timestamps UTC, institution_id as text."""
    frame = store.read_table(Path(out_dir), table)
    for field in schema(table):
        if field.name not in frame.columns:
            frame[field.name] = None
        if pa.types.is_timestamp(field.type):
            frame[field.name] = pd.to_datetime(frame[field.name], utc=True).astype("datetime64[us, UTC]")
    if table not in UNPARTITIONED:
        frame[PARTITION_KEY] = frame[PARTITION_KEY].astype("object").where(frame[PARTITION_KEY].notna(), None)
    return frame
