"""The HTML report's figures, drawn with matplotlib and returned as inline SVG text.

Steps, for every figure:

1. Draw on a bare :class:`matplotlib.figure.Figure` (no pyplot, no global state) with a transparent
   background, using three placeholder colours for text, axes and grid lines.
2. Save it as SVG with text kept as ``<text>`` (small, selectable, searchable), fixed ids and no date, so the
   same tables give the same bytes.
3. Replace the placeholder colours with the CSS variables ``--fg``, ``--muted`` and ``--grid``: the page's
   ``prefers-color-scheme`` rules then recolour every figure for light and dark themes.

Sites get colours from :data:`SITE_COLOURS` (20 colours of medium lightness, legible on white and on
near-black) in order of catchment share; sites beyond the 20th share :data:`OTHER_COLOUR`. Unrouted time is
solid :data:`UNROUTED_COLOUR`; unobserved time (session down, resync, missing archive file) is hatched.
Stays shorter than :data:`MIN_VISIBLE` of the window are drawn that wide, on top, so that a few seconds of
path exploration in a week-long window still show.

matplotlib is an optional extra: importing this module without it raises :class:`ImportError`; the HTML
report turns that into an install hint.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import matplotlib
import matplotlib.dates as mdates
import numpy as np
import pandas as pd
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import FixedLocator, FuncFormatter, MaxNLocator, NullLocator, PercentFormatter

from anystab.report.terminal import fmt_duration
from anystab.units import US_PER_S

SITE_COLOURS = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#bcbd22", "#17becf",
    "#e7ba52", "#6b6ecf", "#aec7e8", "#ffbb78", "#98df8a", "#ff9896", "#c5b0d5", "#c49c94", "#f7b6d2",
    "#dbdb8d", "#9edae5",
)  # fmt: skip
OTHER_COLOUR = "#c7c7c7"
UNROUTED_COLOUR = "#7f7f7f"
OTHER_SITES = "other sites"
EVENT_COLOURS = {"switch": "#1f77b4", "withdraw": "#d62728", "restore": "#2ca02c"}

# Placeholders drawn by matplotlib and replaced by CSS variables in the SVG text (step 3).
FG, MUTED, GRID = "#010101", "#020202", "#030303"
CSS_VARS = {FG: "var(--fg)", MUTED: "var(--muted)", GRID: "var(--grid)"}

WIDTH_IN = 9.0
CURVE_HEIGHT_IN = 3.6
SHARE_HEIGHT_IN = 3.0
SWITCH_HEIGHT_IN = 2.4
ROW_HEIGHT_IN = 0.2
TIMELINE_MARGIN_IN = 1.1
BAR_FILL = 0.8
MIN_VISIBLE = 0.002  # stays shorter than this share of the window are drawn this wide, so they show
CI_ALPHA = 0.18
MAX_BINS = 120
LEGEND_COLUMNS = 8
NICE_BINS_S = (1, 5, 10, 30, 60, 120, 300, 600, 900, 1800, 3600, 10800, 21600, 43200, 86400, 604800)
SVG_SALT = "anystab"

_RC: dict[Any, Any] = {
    "svg.fonttype": "none",
    "svg.hashsalt": SVG_SALT,
    "font.family": "sans-serif",
    "font.size": 9,
    "text.color": FG,
    "axes.labelcolor": FG,
    "axes.edgecolor": MUTED,
    "xtick.color": MUTED,
    "ytick.color": MUTED,
    "xtick.labelcolor": FG,
    "ytick.labelcolor": FG,
    "grid.color": GRID,
    "hatch.color": MUTED,
    "hatch.linewidth": 0.6,
    "legend.frameon": False,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "timezone": "UTC",
}


def site_colours(sites: Sequence[str]) -> dict[str, str]:
    """Colours for sites given in order of importance; the 21st and later share :data:`OTHER_COLOUR`."""
    return {s: SITE_COLOURS[i] if i < len(SITE_COLOURS) else OTHER_COLOUR for i, s in enumerate(sites)}


@contextmanager
def _figure(height_in: float) -> Iterator[Figure]:
    with matplotlib.rc_context(_RC):
        fig = Figure(figsize=(WIDTH_IN, height_in), layout="constrained")
        fig.patch.set_alpha(0.0)
        yield fig


def to_svg(fig: Figure) -> str:
    """The figure as an ``<svg>`` element for inline use, its placeholder colours as CSS variables."""
    buf = io.StringIO()
    with matplotlib.rc_context(_RC):
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None}, transparent=True)
    text = buf.getvalue()
    text = text[text.index("<svg") :]
    for colour, var in CSS_VARS.items():
        text = re.sub(colour, var, text, flags=re.I)
    return re.sub(r"<svg\b", '<svg role="img" class="figure"', text, count=1)


def _dates(values: pd.Series | pd.DatetimeIndex) -> np.ndarray:
    """UTC timestamps as matplotlib date numbers."""
    index = pd.DatetimeIndex(values)
    return np.asarray(mdates.date2num(index.tz_convert(None).to_numpy()))


def _time_axis(ax: Axes, window: tuple[float, float]) -> None:
    lo, hi = _dates(pd.to_datetime(list(window), unit="s", utc=True))
    ax.set_xlim(lo, hi)
    locator = mdates.AutoDateLocator(minticks=4, maxticks=10)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    ax.set_xlabel("time (UTC)")


# --- the session-break curve --------------------------------------------------------------------------


def curve_svg(estimates: pd.DataFrame, scope_colours: Mapping[str, str]) -> str:
    """P(break) against session length (log axis) for one target: one line per scope with its 95% interval
    as a band, and the Poisson model dashed beside it."""
    with _figure(CURVE_HEIGHT_IN) as fig:
        ax = fig.add_subplot()
        sessions = sorted(estimates["session_s"].unique())
        for scope, colour in scope_colours.items():
            rows = estimates[estimates["scope"] == scope].sort_values("session_s")
            _curve_lines(ax, rows, scope, colour, width=2.2 if scope == "all" else 1.2)
        ax.set_xscale("log")
        ax.xaxis.set_major_locator(FixedLocator(sessions))
        ax.xaxis.set_minor_locator(NullLocator())
        ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _pos: fmt_duration(float(x))))
        if sessions:
            ax.set_xlim(sessions[0] / 1.5, sessions[-1] * 1.5)
        ax.set_ylim(0, 1)
        ax.yaxis.set_major_formatter(PercentFormatter(1.0))
        ax.grid(True, which="major")
        ax.set_xlabel("session length")
        ax.set_ylabel("P(session breaks)")
        ax.legend(handles=_curve_legend(ax), loc="upper left", fontsize=8)
        return to_svg(fig)


def _curve_lines(ax: Axes, rows: pd.DataFrame, scope: str, colour: str, width: float) -> None:
    defined = rows[rows["mean_p"].notna()]
    x = defined["session_s"].to_numpy(float)
    ax.fill_between(x, defined["ci_low"].to_numpy(float), defined["ci_high"].to_numpy(float), color=colour,
                    alpha=CI_ALPHA, linewidth=0)  # fmt: skip
    ax.plot(x, defined["mean_p"].to_numpy(float), color=colour, linewidth=width, marker="o", markersize=4,
            label=scope)  # fmt: skip
    model = rows[rows["poisson_mean_p"].notna()]
    style: dict[str, Any] = {"linewidth": width * 0.7, "linestyle": "--", "marker": "o", "markersize": 3}
    x, y = model["session_s"].to_numpy(float), model["poisson_mean_p"].to_numpy(float)
    ax.plot(x, y, color=colour, markerfacecolor="none", **style)


def _curve_legend(ax: Axes) -> list[Artist]:
    from matplotlib.lines import Line2D

    handles = list(ax.get_legend_handles_labels()[0])
    handles.append(Patch(color=MUTED, alpha=CI_ALPHA * 2, label="95% interval (bootstrap)"))
    handles.append(Line2D([], [], color=MUTED, linestyle="--", label="Poisson model"))
    return handles


# --- the site timeline ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class TimelineRows:
    """The rows of a site timeline, top to bottom: their keys and labels."""

    keys: list[tuple[str, int, str]]
    labels: list[str]


def timeline_svg(
    timeline: pd.DataFrame, rows: TimelineRows, colours: Mapping[str, str], window: tuple[float, float]
) -> str:
    """One row per vantage point, coloured by site over time; unrouted solid grey, unobserved hatched."""
    height = TIMELINE_MARGIN_IN + ROW_HEIGHT_IN * max(len(rows.keys), 1)
    with _figure(height) as fig:
        ax = fig.add_subplot()
        groups = dict(iter(timeline.groupby(["collector", "peer_asn", "peer_ip"], sort=False)))
        lo, hi = _dates(pd.to_datetime(list(window), unit="s", utc=True))
        min_width = (hi - lo) * MIN_VISIBLE
        for i, key in enumerate(rows.keys):
            part = groups.get(key)
            if part is not None:
                _timeline_row(ax, part, i, colours, min_width)
        ax.set_ylim(len(rows.keys) - 0.5, -0.5)
        ax.set_yticks(range(len(rows.keys)), rows.labels, fontsize=7)
        ax.tick_params(axis="y", length=0)
        _time_axis(ax, window)
        handles = _timeline_legend(colours)
        columns = min(len(handles), LEGEND_COLUMNS)
        ax.legend(handles=handles, loc="lower left", bbox_to_anchor=(0, 1.0), ncol=columns, fontsize=8)
        return to_svg(fig)


def _spans(part: pd.DataFrame, min_width: float = 0.0) -> list[tuple[float, float]]:
    start, end = _dates(part["start"]), _dates(part["end"])
    return list(zip(start, np.maximum(end - start, min_width), strict=True))


def _timeline_row(ax: Axes, part: pd.DataFrame, i: int, colours: Mapping[str, str], min_width: float) -> None:
    """Routed and unrouted stretches, then unobserved ones hatched, then short stays widened on top."""
    y = (i - BAR_FILL / 2, BAR_FILL)
    width = _dates(part["end"]) - _dates(part["start"])
    faces = [
        UNROUTED_COLOUR if state == "unrouted" else colours.get(str(site), OTHER_COLOUR)
        for state, site in zip(part["state"], part["site"], strict=True)
    ]
    seen = (part["state"] != "unobserved").to_numpy()
    _bars(ax, part, seen & (width >= min_width), faces, y, 0.0)
    gaps = part[~seen]
    if len(gaps):
        ax.broken_barh(_spans(gaps), y, facecolors="none", edgecolors=MUTED, hatch="////", linewidth=0.4)
    _bars(ax, part, seen & (width < min_width), faces, y, min_width)


def _bars(
    ax: Axes,
    part: pd.DataFrame,
    chosen: np.ndarray,
    faces: list[str],
    y: tuple[float, float],
    min_width: float,
) -> None:
    if chosen.any():
        colours = [f for f, c in zip(faces, chosen, strict=True) if c]
        ax.broken_barh(_spans(part[chosen], min_width), y, facecolors=colours, linewidth=0)


def _timeline_legend(colours: Mapping[str, str]) -> list[Patch]:
    handles = [Patch(facecolor=c, label=s) for s, c in colours.items() if c != OTHER_COLOUR]
    if OTHER_COLOUR in colours.values():
        handles.append(Patch(facecolor=OTHER_COLOUR, label=OTHER_SITES))
    handles.append(Patch(facecolor=UNROUTED_COLOUR, label="unrouted"))
    handles.append(Patch(facecolor="none", edgecolor=MUTED, hatch="////", label="unobserved"))
    return handles


# --- catchment share over time ----------------------------------------------------------------------------


def share_matrix(site_share: pd.DataFrame, sites: Sequence[str]) -> pd.DataFrame:
    """Share of each site (columns, in ``sites`` order, the rest summed as :data:`OTHER_SITES`) from each
    boundary time (index) until the next; zero where no row covers a time."""
    if site_share.empty:
        return pd.DataFrame(columns=list(sites), dtype=float)
    known = set(sites)
    df = site_share.assign(site=site_share["site"].where(site_share["site"].isin(known), OTHER_SITES))
    wide = df.pivot_table(index="start", columns="site", values="share", aggfunc="sum")
    bounds = pd.DatetimeIndex(sorted(set(df["start"]) | set(df["end"])))
    columns = [s for s in [*sites, OTHER_SITES] if s in wide.columns]
    return wide.reindex(index=bounds, columns=columns).fillna(0.0)


def share_svg(site_share: pd.DataFrame, colours: Mapping[str, str], window: tuple[float, float]) -> str:
    """Stacked catchment share of each site over time (all collectors)."""
    with _figure(SHARE_HEIGHT_IN) as fig:
        ax = fig.add_subplot()
        wide = share_matrix(site_share, [s for s, c in colours.items() if c != OTHER_COLOUR])
        x = _dates(wide.index) if len(wide) else np.array([])
        bottom = np.zeros(len(wide))
        for site in wide.columns:
            top = bottom + wide[site].to_numpy(float)
            ax.fill_between(x, bottom, top, step="post", linewidth=0, label=site,
                            color=colours.get(site, OTHER_COLOUR))  # fmt: skip
            bottom = top
        ax.set_ylim(0, 1)
        ax.yaxis.set_major_formatter(PercentFormatter(1.0))
        ax.set_ylabel("share of routed VPs")
        ax.grid(True, axis="y")
        _time_axis(ax, window)
        if len(wide.columns):  # no routed VP: no site to name (matplotlib warns on an empty legend)
            ax.legend(loc="lower left", bbox_to_anchor=(0, 1.0), ncol=LEGEND_COLUMNS, fontsize=8)
        return to_svg(fig)


# --- events over time -----------------------------------------------------------------------------------


def bin_seconds(window_s: float) -> int:
    """The smallest round bin width that splits the window into at most :data:`MAX_BINS` bins."""
    for size in NICE_BINS_S:
        if window_s / size <= MAX_BINS:
            return size
    return int(math.ceil(window_s / MAX_BINS))


def event_counts(events: pd.DataFrame, window: tuple[float, float]) -> tuple[pd.DataFrame, int]:
    """Events per bin (rows: bin start in seconds; columns: switch, withdraw, restore) and the bin width."""
    size = bin_seconds(window[1] - window[0])
    edges = np.arange(window[0], window[1] + size, size, dtype=float)
    times = events["time"].astype("int64").to_numpy() / US_PER_S if len(events) else np.array([])
    counts = {}
    for kind in EVENT_COLOURS:
        mask = (events["kind"] == kind).to_numpy() if len(events) else np.array([], dtype=bool)
        counts[kind] = np.histogram(times[mask], bins=edges)[0]
    return pd.DataFrame(counts, index=edges[:-1]), size


def events_svg(events: pd.DataFrame, window: tuple[float, float]) -> str:
    """Stacked bars: switches, withdrawals and restorations per time bin."""
    counts, size = event_counts(events, window)
    with _figure(SWITCH_HEIGHT_IN) as fig:
        ax = fig.add_subplot()
        x = _dates(pd.to_datetime(counts.index, unit="s", utc=True))
        bottom = np.zeros(len(counts))
        for kind, colour in EVENT_COLOURS.items():
            values = counts[kind].to_numpy(float)
            ax.bar(x, values, width=size / 86400.0, bottom=bottom, align="edge", color=colour, label=kind,
                   linewidth=0)  # fmt: skip
            bottom = bottom + values
        ax.set_ylabel(f"events per {fmt_duration(size)}")
        ax.grid(True, axis="y")
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        _time_axis(ax, window)
        ax.legend(loc="lower left", bbox_to_anchor=(0, 1.0), ncol=3, fontsize=8)
        return to_svg(fig)
