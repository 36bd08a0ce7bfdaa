"""outputs.frames.empty builds each table's empty frame once and hands out copies (nightly builds seven per
stored class): a copy must be the frame a fresh build gives, and changing one must not reach the next."""

import pandas as pd

from pipeline.outputs.frames import empty
from pipeline.outputs.schemas import schema


def test_empty_frames_are_independent_copies_of_the_schema():
    first = empty("sightings")
    fresh = pd.DataFrame({name: pd.Series(dtype="object") for name in schema("sightings").names})
    pd.testing.assert_frame_equal(first, fresh)
    first["class_id"] = pd.Series(["C1"], dtype="object")  # a caller that writes into its frame
    first.loc[0] = "x"
    second = empty("sightings")
    assert len(second) == 0 and list(second.columns) == schema("sightings").names
    assert all(dtype == object for dtype in second.dtypes)
    assert second is not empty("sightings")
