"""The SQL every report shares: a window as a condition, conditional counts, nearest-rank
percentiles computed in the database (the same on SQLite and PostgreSQL), and the rounding
of what comes back (percentages, one decimal place)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, select
from sqlalchemy.sql import Select

from frontdoor.reports.base import Window


def between(column: Any, window: Window) -> ColumnElement[bool]:
    return and_(column >= window.start, column <= window.end)


def percentiles(
    value: Any, where: Sequence[ColumnElement[bool]], by: Sequence[Any] = (), ps: Sequence[int] = (50, 90),
    select_from: Any = None,
) -> Select[Any]:
    """Nearest-rank percentiles of `value` per group `by`, computed in the database with
    window functions (row_number, count): the p-th percentile is the value at the smallest
    rank r with r/n >= p/100. Works the same on SQLite and PostgreSQL."""
    order = func.row_number().over(partition_by=list(by) or None, order_by=value)
    size = func.count().over(partition_by=list(by) or None)
    inner_q = select(*[b.label(f"g{i}") for i, b in enumerate(by)], value.label("v"), order.label("rn"), size.label("n"))
    if select_from is not None:
        inner_q = inner_q.select_from(select_from)
    inner = inner_q.where(*where, value.is_not(None)).subquery()
    groups = [inner.c[f"g{i}"] for i in range(len(by))]
    picks = [
        func.max(case((and_(inner.c.rn * 100 >= p * inner.c.n, (inner.c.rn - 1) * 100 < p * inner.c.n), inner.c.v))).label(f"p{p}")
        for p in ps
    ]
    q = select(*groups, *picks)
    return q.group_by(*groups) if groups else q


def pct(part: Any, whole: Any) -> float | None:
    """A percentage to one decimal place; None when there is nothing to divide by."""
    if not whole:
        return None
    return round(100.0 * float(part or 0) / float(whole), 1)


def one(value: Any) -> float | None:
    return round(float(value), 1) if value is not None else None


def count_if(condition: ColumnElement[bool]) -> Any:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)
