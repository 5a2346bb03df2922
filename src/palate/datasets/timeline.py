"""Turning the clock fields of public datasets into UTC timestamps, column-wise."""

from __future__ import annotations

from datetime import timedelta

import polars as pl

UTC_TS = pl.Datetime("us", "UTC")


def local_to_utc(naive: pl.Expr, timezone: str) -> pl.Expr:
    """Naive wall-clock times in ``timezone`` as UTC microsecond timestamps.

    Repeated autumn hours take their first occurrence. Spring-forward gaps are taken to be one
    hour (true for every zone these datasets use), so a skipped time such as 02:30 becomes
    03:30 daylight time, the instant it would have been on the old offset.

    >>> from datetime import datetime
    >>> skipped = pl.lit(datetime(2017, 3, 12, 2, 30))
    >>> str(pl.select(local_to_utc(skipped, "America/New_York")).item())
    '2017-03-12 07:30:00+00:00'
    """
    localized = naive.dt.replace_time_zone(timezone, ambiguous="earliest", non_existent="null")
    moved_forward = (naive + pl.duration(hours=1)).dt.replace_time_zone(
        timezone, ambiguous="earliest", non_existent="null"
    )
    return pl.coalesce(localized, moved_forward).dt.convert_time_zone("UTC").cast(UTC_TS)


def spread_forward(ts: str, *, group: str, min_gap: timedelta) -> pl.Expr:
    """``ts`` moved later where needed so that each group's times rise by ``min_gap`` or more.

    Times already far enough apart are unchanged; a time that is not at least ``min_gap`` after
    its (possibly moved) predecessor in frame order is put exactly ``min_gap`` after it. The
    frame must be sorted in the wanted sequence within each group.

    >>> from datetime import datetime, timezone
    >>> t = [datetime(2017, 1, 1, h, tzinfo=timezone.utc) for h in (9, 9, 8, 12)]
    >>> frame = pl.DataFrame({"u": [1, 1, 1, 1], "ts": t})
    >>> moved = frame.select(spread_forward("ts", group="u", min_gap=timedelta(minutes=10)))
    >>> [v.strftime("%H:%M") for v in moved["ts"]]
    ['09:00', '09:10', '09:20', '12:00']
    """
    gap_us = int(min_gap / timedelta(microseconds=1))
    rank = pl.int_range(pl.len()).over(group)
    epoch = pl.col(ts).dt.epoch("us")
    raised = (epoch - rank * gap_us).cum_max().over(group) + rank * gap_us
    return pl.from_epoch(raised, time_unit="us").dt.replace_time_zone("UTC").alias(ts)
