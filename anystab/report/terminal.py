"""The terminal report: a rich rendering of :func:`anystab.summary.build_summary`'s dict.

It renders only the summary (never the stages' internals), so ``--json`` and the report agree.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

SPARK = " ▁▂▃▄▅▆▇█"


def fmt_duration(seconds: float) -> str:
    """10 -> '10s', 60 -> '1m', 600 -> '10m', 3600 -> '1h', 86400 -> '1d'."""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


def fmt_p(p: float | None) -> str:
    if p is None:
        return "–"
    return f"{p:.4f}" if p < 0.1 else f"{p:.3f}"


def spark(p: float | None) -> str:
    """One bar character for a probability in [0, 1]."""
    if p is None:
        return " "
    return SPARK[min(len(SPARK) - 1, round(p * (len(SPARK) - 1)))] if p > 0 else "·"


def _read_section(s: dict[str, Any], console: Console) -> None:
    r = s["read"]
    kinds = ", ".join(f"{n} {k}" for k, n in r["files_by_kind"].items())
    console.print(
        f"[bold]Read[/]: {r['files']} files ({kinds}) from {len(r['collectors'])} collectors "
        f"({', '.join(r['collectors'])}); {r['records']:,} records, {r['elements']:,} elements kept"
    )
    line = f"  skipped: {r['skipped']:,} ({r['problems_total']} problems)"
    if r["missing_intervals"]:
        line += (
            f"; missing files: {r['missing_intervals']} intervals, {r['missing_s'] / 60:.0f} min unobserved"
        )
    console.print(line)
    for p in r["problems"]:
        where = f" at offset {p['offset']}" if p["offset"] is not None else ""
        console.print(f"  [yellow]![/] {p['path']}{where}: {p['reason']} ({p['count']})")


def fmt_pct(p: float | None) -> str:
    """A probability as a short percentage: 0.18 -> '18%', 0.0035 -> '0.35%'."""
    if p is None:
        return "–"
    pct = p * 100
    if pct == 0 or pct >= 10:
        return f"{pct:.0f}%"
    return f"{pct:.2g}%" if pct >= 1 else f"{pct:.1g}%" if pct < 0.1 else f"{pct:.2f}%"


def _cell(row: dict[str, Any] | None) -> str:
    if row is None or row["mean_p"] is None:
        return "–"
    return f"{fmt_pct(row['mean_p'])}\n[dim]{fmt_pct(row['ci_low'])}–{fmt_pct(row['ci_high'])}[/]"


def _estimates_section(s: dict[str, Any], console: Console) -> None:
    by_target: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in s["estimates"]:
        by_target[row["target"]].append(row)
    sessions = s["parameters"]["sessions_s"]
    for target, rows in by_target.items():
        table = Table(
            title=f"P(a TCP session to {target} breaks): mean over VPs, 95% interval below",
            title_justify="left",
            caption="curve: one bar per session length; – : window shorter than the session",
            caption_justify="left",
        )
        table.add_column("scope", no_wrap=True)
        table.add_column("VPs", justify="right")
        table.add_column("with a break", justify="right")
        for d in sessions:
            table.add_column(fmt_duration(d), justify="right", no_wrap=True)
        table.add_column("curve", no_wrap=True)
        table.add_column("Poisson 1h", justify="right")
        table.add_column("breaks /VP-day", justify="right")
        cells: dict[str, dict[float, dict[str, Any]]] = defaultdict(dict)
        for row in rows:
            cells[row["scope"]][row["session_s"]] = row
        for scope in sorted(cells, key=lambda sc: (sc != "all", sc)):
            per = cells[scope]
            first = next(iter(per.values()))
            curve = "".join(spark(per[d]["mean_p"]) if d in per else " " for d in sessions)
            bpd = first["breaks_per_vp_day"]
            hour = per.get(3600.0)
            table.add_row(
                scope,
                str(first["vps"]),
                fmt_pct(first["share_with_break"]),
                *[_cell(per.get(d)) for d in sessions],
                curve,
                fmt_pct(hour["poisson_mean_p"]) if hour else "–",
                "–" if bpd is None else f"{bpd:.2f}",
            )
        console.print(table)


def _sites_section(s: dict[str, Any], console: Console) -> None:
    table = Table(title="Sites and catchment share (time-weighted, all collectors)", title_justify="left")
    for col in ("target", "site", "share"):
        table.add_column(col, justify="right" if col == "share" else "left")
    for row in s["sites"]:
        if row["scope"] == "all":
            table.add_row(row["target"], row["site"], "–" if row["share"] is None else f"{row['share']:.1%}")
    console.print(table)


def _vp_section(s: dict[str, Any], console: Console) -> None:
    table = Table(title="Least stable vantage points", title_justify="left")
    for col in ("collector", "peer", "target", "breaks", "switches", "before filter", "sites", "mean dwell"):
        table.add_column(col)
    for row in s["least_stable"]:
        dwell = row["mean_dwell_s"]
        table.add_row(
            row["collector"],
            f"AS{row['peer_asn']} {row['peer_ip']}",
            row["target"],
            str(row["breaks"]),
            str(row["switches"]),
            str(row["switches_raw"]),
            str(row["sites"]),
            "–" if dwell is None else fmt_duration(round(dwell)),
        )
    console.print(table)


def _collector_section(s: dict[str, Any], console: Console) -> None:
    table = Table(title="Per collector", title_justify="left")
    for col in ("collector", "target", "VPs", "sites", "switches", "origin changes", "path changes", "MOAS"):
        table.add_column(col)
    for row in s["collectors"]:
        moas = (
            f"{row['moas_intervals']} ({fmt_duration(round(row['moas_s'] or 0))})"
            if row["moas_intervals"]
            else "0"
        )
        table.add_row(
            row["collector"],
            row["target"],
            str(row["vps"]),
            str(row["sites"]),
            str(row["switches"]),
            str(row["origin_changes"]),
            str(row["path_changes"]),
            moas,
        )
    console.print(table)


def _notes_section(s: dict[str, Any], console: Console) -> None:
    """Why the result is empty or thin: one line per note of the summary."""
    for note in s.get("notes") or []:
        console.print(f"  [yellow]![/] {escape(note)}")


def render_summary(s: dict[str, Any], console: Console) -> None:
    """Print the whole report."""
    p = s["parameters"]
    targets = ", ".join(
        t["prefix"] if t["address"] == t["prefix"].split("/")[0] else f"{t['prefix']} ({t['address']})"
        for t in p["targets"]
    )
    console.print(f"[bold]anystab[/] {s['window']['start']} → {s['window']['end']}  targets: {targets}")
    console.print(
        f"  sites by {p['site_by']}, min_dwell {p['min_dwell_s']:g}s, {s['vantage_points']} vantage points"
    )
    _notes_section(s, console)
    _read_section(s, console)
    ev = s["events"]
    console.print(
        f"[bold]Events[/]: {ev['switches']} switches, {ev['withdraws']} withdrawals "
        f"(before the min_dwell filter: {ev['switches_before_filter']}, {ev['withdraws_before_filter']})"
    )
    _estimates_section(s, console)
    _sites_section(s, console)
    _vp_section(s, console)
    _collector_section(s, console)
