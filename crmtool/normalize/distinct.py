"""A column's distinct values and where each row's value sits among them.

The families work once per distinct value and spread the results back to the rows
by position (a gather), instead of joining the results back on the values
themselves: the values are hashed once, and only the 64-bit hashes are grouped
and joined. Two different values with one hash would be grouped wrongly, so the
grouping is checked against the values; should it ever fail, the values are
grouped exactly (slower).
"""

from __future__ import annotations

import polars as pl


def distinct_positions(values: pl.Series) -> tuple[pl.Series, pl.Series]:
    """(the distinct values in order of first appearance, null included; for every row the
    position of its value among them, UInt32)."""
    rows = values.hash(seed=0).to_frame("h").with_row_index("row")
    firsts = rows.unique("h", keep="first", maintain_order=True).with_row_index("nid")
    positions = rows.join(firsts.select("h", "nid"), on="h", how="left", maintain_order="left")["nid"]
    distinct = values.gather(firsts["row"])
    if not values.eq_missing(distinct.gather(positions)).all():
        return _exact(values)
    return distinct, positions


def _exact(values: pl.Series) -> tuple[pl.Series, pl.Series]:
    """`distinct_positions` by a join on the values themselves."""
    frame = values.alias("v").to_frame()
    firsts = frame.unique("v", keep="first", maintain_order=True).with_row_index("nid")
    positions = frame.join(firsts, on="v", how="left", nulls_equal=True, maintain_order="left")["nid"]
    return firsts["v"].alias(values.name), positions
