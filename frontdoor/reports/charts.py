"""Charts drawn on the server as SVG by matplotlib (its SVG backend; no pyplot state, no
fonts or anything else fetched at run time). Each has a title and labelled axes; the
table beside it is the accessible version. Output is deterministic: a fixed hash salt and
no date in the metadata, so the same figures give the same bytes."""

from __future__ import annotations

import io
import math
import threading
from html import escape
from typing import Any

import matplotlib
from matplotlib.backends.backend_svg import FigureCanvasSVG
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from frontdoor.reports.base import Chart, Column, ReportResult, Table, month_label

# Okabe-Ito: distinguishable with the common colour vision deficiencies
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000", "#999999", "#882255"]
RC = {
    "svg.hashsalt": "frontdoor-reports",
    "svg.fonttype": "none",  # text stays text: smaller, selectable, read by screen readers
    "font.family": "sans-serif",
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
}
_lock = threading.Lock()  # rc_context is process-wide


def _label(column: Column, value: Any) -> str:
    if value is None:
        return "-"
    if column.kind == "month":
        return month_label(value)
    if column.kind in ("week", "date"):
        return f"{value:%d/%m/%y}"
    return str(value)


def _number(value: Any) -> float:
    return float(value) if isinstance(value, int | float) else math.nan


def series(table: Table, chart: Chart) -> tuple[list[str], list[tuple[str, list[float]]], bool]:
    """Category labels, (series name, values) pairs, and whether the values are percentages."""
    labels, data, kinds = _series(table, chart)
    return labels, data, kinds == {"pct"}


def _series(table: Table, chart: Chart) -> tuple[list[str], list[tuple[str, list[float]]], set[str]]:
    columns = {c.key: c for c in table.columns}
    x = columns[chart.x]
    y_keys = list(chart.y) or [c.key for c in table.columns if c.key != chart.x]
    labels = [_label(x, v) for v in table.column(chart.x)]
    data = [(columns[k].label, [_number(v) for v in table.column(k)]) for k in y_keys]
    return labels, data, {columns[k].kind for k in y_keys}


def render_svg(result: ReportResult) -> str:
    chart = result.report.chart
    return chart_svg(result.table(chart.table), chart, subtitle=result.window.label)


def chart_svg(table: Table, chart: Chart, subtitle: str = "") -> str:
    labels, data, kinds = _series(table, chart)
    percent = kinds == {"pct"}
    with _lock, matplotlib.rc_context(RC):  # type: ignore[arg-type]
        fig = Figure(figsize=(8, 4), dpi=100)
        FigureCanvasSVG(fig)
        ax = fig.add_subplot()
        ax.set_title(chart.title + (f"\n{subtitle}" if subtitle else ""), fontsize=11, loc="left")
        ax.set_xlabel(chart.x_label)
        ax.set_ylabel(chart.y_label)
        if not labels or not data:
            ax.text(0.5, 0.5, "No figures in this range", ha="center", va="center", transform=ax.transAxes)
            ax.set_xticks([])
            ax.set_yticks([])
        elif chart.kind == "barh":
            positions = list(range(len(labels)))
            ax.barh(positions, [0 if math.isnan(v) else v for v in data[0][1]], color=PALETTE[0])
            ax.set_yticks(positions, labels)
            ax.invert_yaxis()
        else:
            _vertical(ax, chart.kind, labels, data)
        if percent and labels:
            ax.set_ylim(0, 100)
        if kinds == {"int"} and labels:  # counts: whole-number ticks
            (ax.xaxis if chart.kind == "barh" else ax.yaxis).set_major_locator(MaxNLocator(integer=True))
        if len(data) > 1 and labels:
            ax.legend(frameon=False, fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
        ax.grid(axis="x" if chart.kind == "barh" else "y", alpha=0.3)
        ax.set_axisbelow(True)
        fig.tight_layout()
        out = io.StringIO()
        fig.savefig(out, format="svg", metadata={"Date": None, "Title": chart.title, "Creator": "frontdoor"})
    return _with_title(out.getvalue(), chart.title, subtitle)


def _vertical(ax: Any, kind: str, labels: list[str], data: list[tuple[str, list[float]]]) -> None:
    positions = list(range(len(labels)))
    if kind == "line":
        for i, (name, values) in enumerate(data):
            ax.plot(positions, values, marker="o", markersize=3, color=PALETTE[i % len(PALETTE)], label=name)
    elif kind == "stacked":
        bottom = [0.0] * len(labels)
        for i, (name, values) in enumerate(data):
            clean = [0.0 if math.isnan(v) else v for v in values]
            ax.bar(positions, clean, bottom=bottom, color=PALETTE[i % len(PALETTE)], label=name)
            bottom = [b + v for b, v in zip(bottom, clean, strict=True)]
    else:
        width = 0.8 / len(data)
        for i, (name, values) in enumerate(data):
            offset = (i - (len(data) - 1) / 2) * width
            ax.bar([p + offset for p in positions], values, width=width, color=PALETTE[i % len(PALETTE)], label=name)
    step = max(1, math.ceil(len(labels) / 16))
    ax.set_xticks(positions[::step], labels[::step], rotation=45 if len(labels) > 6 else 0, ha="right" if len(labels) > 6 else "center")


def _with_title(svg: str, title: str, subtitle: str) -> str:
    """Give the SVG an accessible name: a <title> (and <desc>) as the root's first children."""
    start = svg.find("<svg")
    end = svg.find(">", start)
    if start < 0 or end < 0:
        return svg
    head = svg[:end]
    attrs = ' role="img" aria-labelledby="chart-title"' if "role=" not in head else ""
    extra = f'\n <title id="chart-title">{escape(title)}</title>'
    if subtitle:
        extra += f"\n <desc>{escape(subtitle)}. The table beside the chart holds the same figures.</desc>"
    return svg[:end] + attrs + ">" + extra + svg[end + 1:]
