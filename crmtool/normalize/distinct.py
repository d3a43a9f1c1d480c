"""Distinct values (or rows) and where each row sits among them.

The families work once per distinct value and spread the results back to the rows
by position (a gather), instead of joining the results back on the values
themselves: the rows are hashed once, and only the 64-bit hashes are grouped
and joined. Two different rows with one hash would be grouped wrongly, so the
grouping is checked against the values; should it ever fail, the rows are
grouped exactly (slower).
"""

from __future__ import annotations

import polars as pl


def distinct_rows(frame: pl.DataFrame) -> tuple[pl.DataFrame, pl.Series]:
    """(the distinct rows in order of first appearance, nulls included; for every row the
    position of its distinct row, UInt32)."""
    rows = frame.hash_rows(seed=0).to_frame("h").with_row_index("row")
    firsts = rows.unique("h", keep="first", maintain_order=True).with_row_index("nid")
    positions = rows.join(firsts.select("h", "nid"), on="h", how="left", maintain_order="left")["nid"]
    distinct = frame[firsts["row"]]
    if not all(frame[c].eq_missing(distinct[c].gather(positions)).all() for c in frame.columns):
        return _exact(frame)
    return distinct, positions


def distinct_positions(values: pl.Series) -> tuple[pl.Series, pl.Series]:
    """`distinct_rows` of one column: (the distinct values, each row's position among them)."""
    distinct, positions = distinct_rows(values.to_frame())
    return distinct.to_series(), positions


def _exact(frame: pl.DataFrame) -> tuple[pl.DataFrame, pl.Series]:
    """`distinct_rows` by a join on the values themselves."""
    firsts = frame.unique(keep="first", maintain_order=True).with_row_index("nid")
    positions = frame.join(firsts, on=frame.columns, how="left", nulls_equal=True, maintain_order="left")["nid"]
    return firsts.drop("nid"), positions
