"""The HTML report: one self-contained page an operator can open, read in a minute and forward.

Steps:

1. Take the tables (pandas DataFrames keyed by table name) and the run's summary dict, either from an
   analysis (``AnalysisResult.tables`` and ``.summary()``) or from a results folder written by
   ``analyze --out`` (:func:`read_results`: ``<table>.parquet`` + ``manifest.json``).
2. Give every site one colour for the whole page, in order of catchment share summed over targets
   (:func:`anystab.report.plots.site_colours`).
3. Per target: the session-break curve and its numbers (from ``estimates``), the site timeline of the
   :data:`MAX_TIMELINE_VPS` least stable vantage points (most breaks first, then most changes before the
   transient filter, withdrawals, path changes), catchment share over time (``site_share``, scope ``all``),
   events over time, and a table of the :data:`LEAST_STABLE_ROWS` least stable vantage points with their
   counts, mean dwell and the sequence of sites they went through (from ``events``).
4. A header states the window, the data read, the data skipped and the method's limits in one paragraph.
5. Fill the page: every text is HTML-escaped; figures are inline SVG; a Content-Security-Policy forbids any
   fetch, so the page never needs the network; CSS variables under ``prefers-color-scheme`` give the light
   and dark themes, and the figures use the same variables.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from anystab import __version__
from anystab.errors import BadInputError, SourceUnavailableError
from anystab.params import MAX_TIMELINE_VPS
from anystab.report.terminal import fmt_p
from anystab.text import human_duration, pip_install, plural
from anystab.timeline import VP_KEYS

if TYPE_CHECKING:
    from types import ModuleType

LEAST_STABLE_ROWS = 20
MAX_CURVE_SCOPES = 8
MAX_SEQUENCE_STEPS = 8
MAX_LISTED_PROBLEMS = 20
UNROUTED_MARK = "∅"
REPORT_TABLES = (
    "timeline", "events", "vp_stats", "estimates", "site_share", "collector_stats", "files", "problems",
    "gaps",
)  # fmt: skip
INSTALL_HINT = f"the HTML report needs matplotlib: {pip_install('report')}"
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"

LIMITS = (
    "What this measures, and what it cannot: anystab sees only the routes that collector peers (mostly "
    "transit providers and large networks, not your users) export to RouteViews and RIPE RIS, and infers "
    "the site from the AS path (or the chosen signature), not from where packets actually land. A break "
    "here means a vantage point's route moved to another site or was withdrawn; a real TCP session breaks"
    " only if the new site cannot continue it. P(break) is the mean over vantage points, each weighing "
    "the same, not over clients or traffic. Session lengths longer than the window, or than a vantage "
    "point's unbroken observation, have no estimate. Time while a peer's session was down, its table was "
    "re-sent, or an archive file was missing is left out, neither stable nor unstable. Event times carry "
    "the collectors' clock and the archive's resolution (whole seconds for BGP4MP)."
)


def load_plots() -> ModuleType:
    """The figures module; matplotlib is an optional extra, so say how to install it when missing."""
    try:
        from anystab.report import plots
    except ImportError as exc:
        raise SourceUnavailableError(INSTALL_HINT) from exc
    return plots


def read_results(folder: str | os.PathLike[str]) -> tuple[dict[str, pd.DataFrame], dict[str, Any]]:
    """The tables the report needs and the run's summary, from a folder written by ``analyze --out``."""
    folder = Path(folder)
    manifest = folder / "manifest.json"
    if not manifest.is_file():
        raise BadInputError(
            f"{folder} holds no manifest.json: name a folder written by anystab analyze --out"
        )
    try:
        summary = json.loads(manifest.read_text())["summary"]
    except (ValueError, KeyError) as exc:
        raise BadInputError(f"{manifest} is not an anystab manifest: {exc}") from None
    tables = {}
    for name in REPORT_TABLES:
        path = folder / f"{name}.parquet"
        if not path.is_file():
            raise BadInputError(f"{folder} has no {name}.parquet: it is not a complete anystab output")
        tables[name] = pd.read_parquet(path)
    return tables, summary


def write_html(
    path: str | os.PathLike[str],
    tables: Mapping[str, pd.DataFrame],
    summary: Mapping[str, Any],
    max_vps: int = MAX_TIMELINE_VPS,
) -> Path:
    """Render the report and write it atomically to ``path``."""
    from anystab.output import atomic_write_text

    text = render_html(tables, summary, max_vps)
    path = Path(path)
    atomic_write_text(path, text)
    return path


def render_html(
    tables: Mapping[str, pd.DataFrame], summary: Mapping[str, Any], max_vps: int = MAX_TIMELINE_VPS
) -> str:
    """The whole report as one HTML document."""
    plots = load_plots()
    window = (_seconds(summary["window"]["start"]), _seconds(summary["window"]["end"]))
    colours = plots.site_colours(site_order(summary, tables["timeline"]))
    targets = [t["prefix"] for t in summary["parameters"]["targets"]]
    body = [_header(summary)]
    for target in targets:
        body.append(_target_section(Page(plots, tables, summary, colours, window, max_vps), target))
    body.append(_collectors_section(tables["collector_stats"]))
    body.append(
        f"<footer>anystab {escape(__version__)} · {len(targets)} target(s) · "
        f"figures drawn with matplotlib; no network needed to view this page.</footer>"
    )
    title = "anystab report: " + ", ".join(targets)
    return _document(title, "\n".join(body))


class Page:
    """What every section of one report needs."""

    def __init__(
        self,
        plots: ModuleType,
        tables: Mapping[str, pd.DataFrame],
        summary: Mapping[str, Any],
        colours: dict[str, str],
        window: tuple[float, float],
        max_vps: int,
    ) -> None:
        self.plots, self.tables, self.summary = plots, tables, summary
        self.colours, self.window, self.max_vps = colours, window, max_vps

    def of(self, name: str, target: str) -> pd.DataFrame:
        """Rows of a table for one target."""
        df = self.tables[name]
        return df[df["target"] == target] if len(df) else df


# --- ordering -------------------------------------------------------------------------------------------


def site_order(summary: Mapping[str, Any], timeline: pd.DataFrame) -> list[str]:
    """Sites by catchment share summed over targets (scope ``all``), then any other site seen, by name."""
    share: dict[str, float] = {}
    for row in summary.get("sites", []):
        if row["scope"] == "all":
            share[row["site"]] = share.get(row["site"], 0.0) + (row["share"] or 0.0)
    order = sorted(share, key=lambda s: (-share[s], s))
    seen = timeline["site"].dropna().astype(str).unique() if len(timeline) else []
    return order + sorted(set(seen) - set(order))


def vp_order(vp_stats: pd.DataFrame) -> pd.DataFrame:
    """Vantage points of one target, least stable first (ties by name, so the order is stable)."""
    df = vp_stats.assign(
        breaks=vp_stats["switches"] + vp_stats["withdraws"],
        changes_raw=vp_stats["switches_raw"] + vp_stats["withdraws_raw"],
    )
    return df.sort_values(
        ["breaks", "changes_raw", "withdraws", "path_changes", *VP_KEYS],
        ascending=[False, False, False, False, True, True, True],
        kind="stable",
    ).reset_index(drop=True)


def vp_label(row: Mapping[str, Any]) -> str:
    return f"{row['collector']} AS{row['peer_asn']} {row['peer_ip']}"


def site_sequence(events: pd.DataFrame, steps: int = MAX_SEQUENCE_STEPS) -> str:
    """The sites one vantage point went through: ``iad → gru → iad``, ∅ for unrouted, the rest elided."""
    moves = events[events["kind"].isin(["switch", "withdraw", "restore"])].sort_values("time", kind="stable")
    if moves.empty:
        return ""

    def name(site: Any) -> str:
        return UNROUTED_MARK if pd.isna(site) else str(site)

    sites = [name(moves["old_site"].iloc[0]), *(name(s) for s in moves["new_site"])]
    more = len(sites) - 1 - steps
    shown = " → ".join(sites[: steps + 1])
    return shown + (f" → … ({more} more)" if more > 0 else "")


# --- formatting -----------------------------------------------------------------------------------------


def _seconds(iso: str) -> float:
    return float(pd.Timestamp(iso).timestamp())


def _utc(iso: str) -> str:
    return str(pd.Timestamp(iso).strftime("%Y-%m-%d %H:%M:%S UTC"))


def _table(head: Sequence[str], rows: Sequence[Sequence[str]], cls: str = "") -> str:
    """An HTML table; cells are already escaped HTML."""
    th = "".join(f"<th>{h}</th>" for h in head)
    trs = "\n".join("<tr>" + "".join(c if c.startswith("<td") else f"<td>{c}</td>" for c in r) + "</tr>"
                    for r in rows)  # fmt: skip
    return f'<table class="{cls}"><thead><tr>{th}</tr></thead><tbody>\n{trs}\n</tbody></table>'


# --- header ----------------------------------------------------------------------------------------------


def _header(s: Mapping[str, Any]) -> str:
    w, r, p = s["window"], s["read"], s["parameters"]
    kinds = ", ".join(f"{n} {k}" for k, n in r["files_by_kind"].items())
    targets = ", ".join(
        escape(t["prefix"])
        + ("" if t["address"] == t["prefix"].split("/")[0] else f" ({escape(t['address'])})")
        for t in p["targets"]
    )
    sessions = ", ".join(human_duration(x) for x in p["sessions_s"])
    ev = s["events"]
    facts = [
        ("Targets", targets),
        ("Window", f"{_utc(w['start'])} → {_utc(w['end'])} ({human_duration(w['seconds'])})"),
        ("Data read", f"{plural(r['files'], 'file')} ({escape(kinds)}) from "
         f"{plural(len(r['collectors']), 'collector')} ({escape(', '.join(r['collectors']))}); "
         f"{plural(r['records'], 'MRT record')}, {plural(r['elements'], 'element')} kept; "
         f"{plural(s['vantage_points'], 'vantage point')}"),
        ("Skipped", _skipped(r)),
        ("Method", f"sites by {escape(p['site_by'])}, transient filter (min dwell) "
         f"{human_duration(p['min_dwell_s']) if p['min_dwell_s'] else 'off'}, resync "
         f"{human_duration(p['resync_s'])}, session lengths {sessions}"),
        ("Events", f"{plural(ev['switches'], 'switch', 'switches')}, {plural(ev['withdraws'], 'withdrawal')} "
         "(before the transient filter: "
         f"{ev['switches_before_filter']}, {ev['withdraws_before_filter']})"),
    ]  # fmt: skip
    dl = "\n".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in facts)
    return (
        f'<header><h1>Anycast stability: {targets}</h1>\n<dl class="facts">{dl}</dl>\n'
        f"{_notes(s)}"
        f'<p class="limits" id="limits"><strong>Limits.</strong> {escape(LIMITS)}</p>\n'
        f"{_problems(r)}</header>"
    )


def _notes(s: Mapping[str, Any]) -> str:
    """Why the result is empty or thin (the summary's notes), as a list; nothing when all is counted."""
    notes = s.get("notes") or []
    if not notes:
        return ""
    items = "".join(f"<li>{escape(n)}</li>" for n in notes)
    title = "<h2>Why some data is not counted</h2>"
    return f'<section class="notes" id="notes">{title}<ul>{items}</ul></section>\n'


def _skipped(r: Mapping[str, Any]) -> str:
    text = f"{r['skipped']:,} records or bytes skipped ({r['problems_total']} problems)"
    if r["missing_intervals"]:
        text += (
            f"; {r['missing_intervals']} missing archive intervals "
            f"({human_duration(r['missing_s'])} unobserved)"
        )
    else:
        text += "; no missing archive files"
    return text


def _problems(r: Mapping[str, Any]) -> str:
    if not r["problems"]:
        return ""
    rows = [
        [escape(str(p["path"])), "–" if p["offset"] is None else str(p["offset"]), escape(str(p["reason"])),
         str(p["count"])]
        for p in r["problems"][:MAX_LISTED_PROBLEMS]
    ]  # fmt: skip
    more = r["problems_total"] - len(rows)
    note = f"<p>… and {more} more (see problems.parquet).</p>" if more > 0 else ""
    table = _table(["file", "offset", "reason", "count"], rows, "problems")
    return (
        f"<details><summary>Damaged input ({r['problems_total']} problems)</summary>{table}{note}</details>"
    )


# --- per target ---------------------------------------------------------------------------------------------


def _target_section(page: Page, target: str) -> str:
    est = page.of("estimates", target)
    vps = vp_order(page.of("vp_stats", target))
    events = page.of("events", target)
    parts = [
        f'<section class="target" data-target="{escape(target)}"><h2>{escape(target)}</h2>',
        _headline(est, page.summary["parameters"]["sessions_s"]),
        _curve_part(page, est),
        _timeline_part(page, target, vps),
        _share_part(page, target),
        "<h3>Switches over time</h3><p>Site switches, withdrawals and restorations seen by all vantage points"
        " (after the transient filter).</p>",
        page.plots.events_svg(events, page.window),
        _least_stable_part(vps, events),
        "</section>",
    ]
    return "\n".join(parts)


def _headline(est: pd.DataFrame, sessions: Sequence[float]) -> str:
    rows = est[(est["scope"] == "all") & est["mean_p"].notna()].sort_values("session_s")
    if rows.empty:
        return "<p class=headline>No vantage point was observed long enough for any session length.</p>"
    bits = [f"{human_duration(r.session_s)}: <strong>{fmt_p(r.mean_p)}</strong>" for r in rows.itertuples()]
    first = rows.iloc[0]
    return (
        f'<p class="headline">Chance that a TCP session breaks, mean over vantage points: {"; ".join(bits)}. '
        f"{first['share_with_break']:.1%} of {int(first['vps'])} vantage points saw at least one break; "
        f"{first['breaks_per_vp_day']:.2f} breaks per vantage-point day.</p>"
    )


def _curve_part(page: Page, est: pd.DataFrame) -> str:
    scopes = ["all", *sorted(s for s in est["scope"].unique() if s != "all")]
    counts = est.groupby("scope")["vps"].max().to_dict() if len(est) else {}
    drawn = ["all", *sorted(scopes[1:], key=lambda s: (-counts.get(s, 0), s))[:MAX_CURVE_SCOPES]]
    palette = page.plots.SITE_COLOURS
    scope_colours = {
        s: (page.plots.FG if s == "all" else palette[i % len(palette)]) for i, s in enumerate(drawn)
    }
    note = (
        f" The figure draws the {MAX_CURVE_SCOPES} collectors with the most vantage points; the table all."
        if len(scopes) > len(drawn)
        else ""
    )
    return (
        "<h3>Session-break probability</h3><p>P(a TCP session of length D breaks) against D, per "
        "collector and overall: mean over vantage points, the 95% bootstrap interval as a band, and the "
        f"Poisson model 1 − exp(−λD) dashed.{note}</p>\n"
        + (page.plots.curve_svg(est, scope_colours) if len(est) else "")
        + _estimates_table(est, scopes, page.summary["parameters"]["sessions_s"])
    )


def _p_cell(row: Any, scope: str, d: float) -> str:
    attrs = f'data-scope="{escape(scope)}" data-session="{d:g}"'
    if row is None or pd.isna(row["mean_p"]):
        return (
            f'<td class="p" {attrs} title="no vantage point has a valid start for sessions this long">–</td>'
        )
    model = "–" if pd.isna(row["poisson_mean_p"]) else fmt_p(row["poisson_mean_p"])
    return (
        f'<td class="p" {attrs}><span class="mean">{fmt_p(row["mean_p"])}</span> '
        f'<span class="ci">[{fmt_p(row["ci_low"])}–{fmt_p(row["ci_high"])}]</span> '
        f'<span class="model">model {model}</span> '
        f'<span class="n">{int(row["vps_defined"])} VPs</span></td>'
    )


def _estimates_table(est: pd.DataFrame, scopes: Sequence[str], sessions: Sequence[float]) -> str:
    rows = []
    for scope in scopes:
        part = est[est["scope"] == scope].set_index("session_s")
        if part.empty:
            continue
        first = part.iloc[0]
        cells = [_p_cell(part.loc[d] if d in part.index else None, scope, d) for d in sessions]
        bpd = first["breaks_per_vp_day"]
        rows.append([escape(scope), str(int(first["vps"])), *cells, f"{first['share_with_break']:.1%}",
                     "–" if pd.isna(bpd) else f"{bpd:.2f}"])  # fmt: skip
    head = ["scope", "VPs", *(f"D = {human_duration(d)}" for d in sessions), "VPs with a break",
            "breaks / VP-day"]  # fmt: skip
    legend = (
        "<p class=note>Each cell: mean P(break) [95% interval] · Poisson model · vantage points with an "
        "estimate. – : no vantage point was observed long enough.</p>"
    )
    return _table(head, rows, "estimates") + legend


def _timeline_part(page: Page, target: str, vps: pd.DataFrame) -> str:
    shown = vps.head(page.max_vps)
    keys = [(str(r.collector), int(r.peer_asn), str(r.peer_ip)) for r in shown.itertuples()]
    rows = page.plots.TimelineRows(keys, [vp_label(r) for _, r in shown.iterrows()])
    if len(vps) > len(shown):
        note = f"Showing the {len(shown)} least stable of {len(vps)} vantage points, least stable on top."
    else:
        note = f"All {len(vps)} vantage points, least stable on top."
    figure = (
        page.plots.timeline_svg(page.of("timeline", target), rows, page.colours, page.window) if keys else ""
    )
    return (
        f'<h3>Where each vantage point was routed</h3><p class="timeline-note">{note} Colour: the site; '
        "grey: no route to the target; hatched: not observed (session down, table re-sent, or archive file "
        f"missing); blank: before the vantage point was first seen.</p>\n{figure}"
    )


def _share_part(page: Page, target: str) -> str:
    share = page.of("site_share", target)
    share = share[share["scope"] == "all"] if len(share) else share
    figure: str = page.plots.share_svg(share, page.colours, page.window)
    return (
        "<h3>Catchment share</h3><p>Share of the routed, observed vantage points (all collectors) routed to "
        "each site over time.</p>\n" + figure
    )


def _least_stable_part(vps: pd.DataFrame, events: pd.DataFrame) -> str:
    moved = vps[(vps["breaks"] > 0) | (vps["changes_raw"] > 0)].head(LEAST_STABLE_ROWS)
    title = f"<h3>Least stable vantage points</h3><p>The {len(moved)} that moved, most breaks first.</p>"
    if moved.empty:
        return "<h3>Least stable vantage points</h3><p>No vantage point changed site.</p>"
    by_vp = dict(iter(events.groupby(VP_KEYS, sort=False))) if len(events) else {}
    rows = []
    for _, r in moved.iterrows():
        seq = site_sequence(by_vp.get((r["collector"], r["peer_asn"], r["peer_ip"]), events.iloc[:0]))
        rows.append([escape(str(r["collector"])), f"AS{int(r['peer_asn'])}", escape(str(r["peer_ip"])),
                     str(int(r["breaks"])), str(int(r["switches"])), str(int(r["withdraws"])),
                     str(int(r["changes_raw"])), str(int(r["path_changes"])), str(int(r["sites"])),
                     human_duration(r["mean_dwell_s"]), human_duration(r["observed_s"]),
                     f'<td class="seq">{escape(seq)}</td>'])  # fmt: skip
    head = ["collector", "peer AS", "peer address", "breaks", "switches", "withdrawals", "before filter",
            "path changes", "sites", "mean dwell", "observed", "sites in order"]  # fmt: skip
    return title + _table(head, rows, "least-stable")


def _collectors_section(stats: pd.DataFrame) -> str:
    rows = [
        [escape(str(r.collector)), escape(str(r.target)), str(r.vps), str(r.sites), str(r.switches),
         str(r.origin_changes), str(r.path_changes), f"{r.moas_intervals} ({human_duration(r.moas_s)})"]
        for r in stats.itertuples()
    ]  # fmt: skip
    head = ["collector", "target", "VPs", "sites", "switches", "origin changes", "path changes", "MOAS"]
    return "<section><h2>Per collector</h2>" + _table(head, rows, "collectors") + "</section>"


# --- the document ------------------------------------------------------------------------------------------

STYLE = """
:root { color-scheme: light dark; --bg: #ffffff; --fg: #1d1f21; --muted: #5c6066; --grid: #dde0e4;
        --card: #f4f5f7; --accent: #1f77b4; }
@media (prefers-color-scheme: dark) {
  :root { --bg: #16181b; --fg: #e4e6e9; --muted: #a3a8af; --grid: #3a3e44; --card: #202328;
          --accent: #6cb4ee; }
}
body { background: var(--bg); color: var(--fg);
       font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif;
       max-width: 1100px; margin: 0 auto; padding: 1.5rem; }
h1 { font-size: 1.5rem; margin: 0 0 .8rem; } h2 { border-top: 2px solid var(--grid); padding-top: 1rem; }
h3 { margin-bottom: .3rem; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; margin: 0 0 .8rem; }
dt { color: var(--muted); } dd { margin: 0; }
p.limits { background: var(--card); padding: .7rem 1rem; border-left: 3px solid var(--accent);
           font-size: .9rem; }
p.headline { font-size: 1.05rem; } p.note, footer { color: var(--muted); font-size: .85rem; }
svg.figure { width: 100%; height: auto; display: block; }
table { border-collapse: collapse; font-size: .85rem; margin: .5rem 0; width: 100%; }
th, td { white-space: nowrap; padding: .25rem .5rem; border-bottom: 1px solid var(--grid); text-align: left;
         vertical-align: top; }
th { color: var(--muted); font-weight: 600; }
td.p .mean { font-weight: 600; } td.p .ci, td.p .model, td.p .n { display: block; color: var(--muted);
  font-size: .8rem; }
td.seq { font-size: .8rem; white-space: normal; }
details { margin: .5rem 0; }
"""


def _document(title: str, body: str) -> str:
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f'<meta name="generator" content="anystab {escape(__version__)}">\n'
        f"<title>{escape(title)}</title>\n<style>{STYLE}</style></head>\n"
        f"<body>\n{body}\n</body></html>\n"
    )
