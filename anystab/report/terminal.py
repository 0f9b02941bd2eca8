"""The terminal report: a rich rendering of :func:`anystab.summary.build_summary`'s dict.

It renders only the summary (never the stages' internals), so ``--json`` and the report agree.
"""

from __future__ import annotations

import io
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from anystab.text import plural

SPARK = " ▁▂▃▄▅▆▇█"
ELLIPSIS = "…"


@dataclass
class Grid:
    """A table's content, printed by :func:`print_grid` as one table, or split by columns where one would
    not fit the console: no cell is ever cut to "…"."""

    columns: list[tuple[str, dict[str, Any]]]
    title: str | None = None
    caption: str | None = None
    keep: int = 1
    options: dict[str, Any] = field(default_factory=dict)
    rows: list[tuple[Sequence[str], str | None]] = field(default_factory=list)

    def add_column(self, header: str, **options: Any) -> None:
        self.columns.append((header, options))

    def add_row(self, *cells: str, style: str | None = None) -> None:
        self.rows.append((cells, style))

    def table(self, indices: Sequence[int], first: bool = True, last: bool = True) -> Table:
        """A rich table of the columns ``indices`` (the title on the first part, the caption on the last)."""
        title = self.options.get("title_justify")
        table = Table(
            title=self.title if first else None,
            caption=self.caption if last else None,
            **({"title_justify": title, "caption_justify": title} if title else {}),
            **{k: v for k, v in self.options.items() if k != "title_justify"},
        )
        for i in indices:
            header, options = self.columns[i]
            table.add_column(header, **options)
        for cells, style in self.rows:
            table.add_row(*(cells[i] for i in indices), style=style)
        return table

    def fits(self, indices: Sequence[int], width: int) -> bool:
        """Whether the columns ``indices`` print at ``width`` with every word of every cell and header whole
        (rich squeezes a column to "…", or to nothing, when a table is too wide)."""
        out = io.StringIO()
        probe = Console(file=out, width=width, color_system=None, soft_wrap=False)
        table = self.table(indices)
        natural = Measurement.get(probe, probe.options.update(max_width=10 * width), table).maximum
        if natural <= width:
            return True  # printed at its natural width: nothing is squeezed
        probe.print(table)
        return self.shows(indices, out.getvalue())

    def shows(self, indices: Sequence[int], shown: str) -> bool:
        """Whether the text ``shown`` (a rendering of the columns ``indices``) holds every word whole."""
        if ELLIPSIS in shown:
            return False
        texts = [self.columns[i][0] for i in indices]
        texts += [cells[i] for cells, _ in self.rows for i in indices]
        return all(word in shown for text in texts for word in Text.from_markup(text).plain.split())

    def parts(self, width: int) -> list[Table]:
        """The tables to print at ``width``: the first ``keep`` columns (the row's name) in each, the other
        columns in as few tables as fit; a column too wide even so is stacked under the row's name."""
        everything = list(range(len(self.columns)))
        if self.fits(everything, width):
            return [self.table(everything)]
        head = everything[: self.keep]
        groups: list[list[int]] = [[]]
        for i in everything[len(head) :]:
            if groups[-1] and not self.fits(head + groups[-1] + [i], width):
                groups.append([])
            groups[-1].append(i)
        parts = []
        for n, g in enumerate(groups):
            first, last = n == 0, n == len(groups) - 1
            if len(g) == 1 and not self.fits(head + g, width):
                parts.append(self.stacked(g[0], first, last))
            else:
                parts.append(self.table(head + g, first, last))
        return parts

    def stacked(self, index: int, first: bool, last: bool) -> Table:
        """One column too wide to share a line with the row's name: the name above the value."""
        headers = [h for h, _ in self.columns[: self.keep]] + [self.columns[index][0]]
        narrow = Grid([(" / ".join(headers), {})], self.title, self.caption, options=self.options)
        for cells, style in self.rows:
            narrow.add_row(" ".join(cells[: self.keep]) + "\n  " + cells[index], style=style)
        return narrow.table([0], first, last)


def print_grid(grid: Grid, console: Console) -> None:
    """Print ``grid`` whole if it fits the console, else split by columns (see :meth:`Grid.parts`)."""
    everything = range(len(grid.columns))
    with console.capture() as capture:  # rendered once: printed as it is when every word shows whole
        console.print(grid.table(everything))
    rendered = capture.get()
    if grid.shows(everything, Text.from_ansi(rendered).plain):
        console.file.write(rendered)
        return
    for table in grid.parts(console.width):
        console.print(table)


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
        f"[bold]Read[/]: {plural(r['files'], 'file')} ({kinds}) from "
        f"{plural(len(r['collectors']), 'collector')} ({', '.join(r['collectors'])}); "
        f"{plural(r['records'], 'record')}, "
        f"{plural(r['elements'], 'element')} kept"
    )
    line = f"  skipped: {r['skipped']:,} ({plural(r['problems_total'], 'problem')})"
    if r["missing_intervals"]:
        line += (
            f"; missing files: {plural(r['missing_intervals'], 'interval')}, "
            f"{r['missing_s'] / 60:.0f} min unobserved"
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
        table = Grid(
            [],
            title=f"P(a TCP session to {target} breaks): mean over VPs, 95% interval below",
            caption="curve: one bar per session length; – : window shorter than the session",
            options={"title_justify": "left"},
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
        print_grid(table, console)


def _sites_section(s: dict[str, Any], console: Console) -> None:
    title = "Sites and catchment share (time-weighted, all collectors)"
    table = Grid([], title=title, options={"title_justify": "left"})
    for col in ("target", "site", "share"):
        table.add_column(col, justify="right" if col == "share" else "left")
    for row in s["sites"]:
        if row["scope"] == "all":
            table.add_row(row["target"], row["site"], "–" if row["share"] is None else f"{row['share']:.1%}")
    print_grid(table, console)


def _vp_section(s: dict[str, Any], console: Console) -> None:
    table = Grid([], title="Least stable vantage points", keep=2, options={"title_justify": "left"})
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
    print_grid(table, console)


def _collector_section(s: dict[str, Any], console: Console) -> None:
    table = Grid([], title="Per collector", keep=2, options={"title_justify": "left"})
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
    print_grid(table, console)


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
        f"  sites by {p['site_by']}, min_dwell {p['min_dwell_s']:g}s, "
        f"{plural(s['vantage_points'], 'vantage point')}"
    )
    _notes_section(s, console)
    _read_section(s, console)
    ev = s["events"]
    console.print(
        f"[bold]Events[/]: {plural(ev['switches'], 'switch', 'switches')}, "
        f"{plural(ev['withdraws'], 'withdrawal')} "
        f"(before the min_dwell filter: {ev['switches_before_filter']}, {ev['withdraws_before_filter']})"
    )
    _estimates_section(s, console)
    _sites_section(s, console)
    _vp_section(s, console)
    _collector_section(s, console)
