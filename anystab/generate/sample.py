"""The committed sample archive: a fictional anycast DNS service seen by a RIS and a RouteViews collector.

Steps of :func:`write_sample`:

1. Build the scenario (:func:`sample_scenario`): ns.example's targets 192.0.2.0/24 (address 192.0.2.53)
   and 2001:db8:53::/48 (address 2001:db8:53::53), origin AS64496 at four sites (ams, sin, iad, gru), each
   behind its own upstream; rrc00 (RIS layout, BGP4MP_ET) and route-views.linx (RouteViews layout, BGP4MP)
   with a few dozen VPs whose site preferences are drawn from a fixed seed; background noise prefixes.
2. Simulate it, write the MRT files (a RIB dump at 00:00 UTC and 75 minutes of updates), the service file
   ``service.toml``, the expected events (``expected-events.csv``, ``expected-events-dwell60.csv``) and
   ``README.md`` describing the scenario and the expected switches per collector.

Everything is derived from fixed seeds and written without time stamps: two runs give identical bytes.
"""

from __future__ import annotations

import csv
import io
import random
from collections import Counter
from pathlib import Path

from anystab.generate.scenario import (
    Collector,
    ExpectedEvent,
    Happening,
    MoreSpecific,
    Prepend,
    Scenario,
    SessionReset,
    Site,
    SiteDown,
    SiteUp,
    TargetSpec,
    Transient,
    Vp,
    expected_events,
    simulate,
    write_archive,
)
from anystab.units import US_PER_S

SAMPLE_START = 1_748_822_400  # 2025-06-02 00:00:00 UTC
SAMPLE_DURATION_S = 4500
SAMPLE_SEED = 53
SAMPLE_MIN_DWELL_S = 60.0
SERVICE_NAME = "ns.example"
ORIGIN_ASN = 64496
MS_UPSTREAM_ASN = 64510
MS_ORIGIN_ASN = 64511
SITES = (
    Site("ams", 64497, ORIGIN_ASN, community="64496:101"),
    Site("sin", 64498, ORIGIN_ASN, community="64496:102"),
    Site("iad", 64499, ORIGIN_ASN, community="64496:103"),
    Site("gru", 64500, ORIGIN_ASN, community="64496:104"),
)
SITE_WEIGHTS = {"ams": 5, "iad": 4, "sin": 3, "gru": 2}
TARGETS = (TargetSpec("192.0.2.0/24", "192.0.2.53"), TargetSpec("2001:db8:53::/48", "2001:db8:53::53"))
PEER_ASNS = (*range(64501, 64510), *range(65536, 65546), *range(4_200_000_001, 4_200_000_011))
TRANSIT_ASNS = (*range(65546, 65552), *range(4_200_000_100, 4_200_000_110))
COLLECTORS = (
    Collector("rrc00", "ris", et=True, local_ip="192.0.2.250", local_ip6="2001:db8:ffff::250",
              collector_id="192.0.2.250"),
    Collector("route-views.linx", "routeviews", et=False, local_ip="192.0.2.251",
              local_ip6="2001:db8:ffff::251", collector_id="192.0.2.251"),
)  # fmt: skip
VP_COUNTS = {"rrc00": (16, 4), "route-views.linx": (10, 2)}  # (IPv4, IPv6) peers
CSV_COLUMNS = ("collector", "peer_asn", "peer_ip", "target", "time_us", "kind", "old_site", "new_site",
               "old_path", "new_path", "across_gap")  # fmt: skip
SINGLE_HOMED_SIN = 2  # per collector: IPv4 VPs that reach only sin (they withdraw while sin is down)


def _prefs(rng: random.Random) -> tuple[str, ...]:
    names = list(SITE_WEIGHTS)
    order: list[str] = []
    while names:
        pick = rng.choices(names, [SITE_WEIGHTS[n] for n in names])[0]
        order.append(pick)
        names.remove(pick)
    return tuple(order)


def _vps(rng: random.Random) -> tuple[Vp, ...]:
    out = []
    asns = list(PEER_ASNS)
    rng.shuffle(asns)
    for c_index, coll in enumerate(COLLECTORS):
        n4, n6 = VP_COUNTS[coll.name]
        net4, net6 = ("198.51.100", "2001:db8:100::") if c_index == 0 else ("203.0.113", "2001:db8:113::")
        for i in range(n4 + n6):
            asn = asns[(i * 3 + c_index * 7) % len(asns)]
            ip = f"{net4}.{10 + i}" if i < n4 else f"{net6}{10 + i:x}"
            prefs = ("sin",) if i < SINGLE_HOMED_SIN else _prefs(rng)
            transit = tuple(rng.sample(TRANSIT_ASNS, rng.choice((0, 1, 1, 2))))
            out.append(Vp(coll.name, asn, ip, prefs, transit))
    # the ams upstream itself peers with rrc00: its path is just "64497 64496"
    out.append(Vp("rrc00", SITES[0].upstream_asn, "198.51.100.99", ("ams", "iad", "sin", "gru")))
    return tuple(out)


def _script(vps: tuple[Vp, ...]) -> tuple[Happening, ...]:
    ris4 = [v.key for v in vps if v.collector == "rrc00" and v.version == 4 and len(v.prefs) > 1]
    rv4 = [v.key for v in vps if v.collector != "rrc00" and v.version == 4 and len(v.prefs) > 1]
    v6 = [v.key for v in vps if v.version == 6]
    leak_vps = tuple(ris4[::2] + rv4[::2])
    return (
        Transient(600, (ris4[0], ris4[1], rv4[0]), 4.0, via="gru"),
        Transient(660, (ris4[2], v6[0]), 6.0, via=None),
        SiteDown(1200, "sin"),
        SessionReset(2040, ris4[3], 60.0),
        SiteUp(2100, "sin"),
        Prepend(2400, "ams", 2),
        MoreSpecific(2700, 3000, "192.0.2.0/25", MS_UPSTREAM_ASN, MS_ORIGIN_ASN, leak_vps),
        Transient(3300, (rv4[1], rv4[2], ris4[4]), 20.0, via="sin"),
    )


def sample_scenario() -> Scenario:
    """The scenario behind the committed sample archive."""
    rng = random.Random(SAMPLE_SEED)
    vps = _vps(rng)
    default_vps = tuple(v.key for v in vps[3:6])
    return Scenario(
        start=SAMPLE_START, duration_s=SAMPLE_DURATION_S, targets=TARGETS, sites=SITES,
        collectors=COLLECTORS, vps=vps, script=_script(vps), noise_v4=1500, noise_v6=200,
        noise_updates_per_vp=60, default_route_vps=default_vps, seed=SAMPLE_SEED,
    )  # fmt: skip


def service_toml(scenario: Scenario) -> str:
    """The service file of the sample: targets and site names by upstream signature."""
    lines = [f'name = "{SERVICE_NAME}"', 'site_by = "upstream"', ""]
    for t in scenario.targets:
        lines += ["[[targets]]", f'prefix = "{t.prefix}"', f'address = "{t.address}"', ""]
    lines.append("[sites]")
    lines += [f'"{s.signature}" = "{s.name}"' for s in scenario.sites]
    lines += ["", "[communities]"]
    lines += [f'"{s.community}" = "{s.name}"' for s in scenario.sites if s.community]
    return "\n".join(lines) + "\n"


def events_csv(events: list[ExpectedEvent]) -> str:
    """Expected events as CSV (times as epoch microseconds)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for e in events:
        row = (e.collector, e.peer_asn, e.peer_ip, e.target, e.time_us, e.kind, e.old_site, e.new_site)
        writer.writerow([*row, e.old_path, e.new_path, int(e.across_gap)])
    return buf.getvalue()


def write_sample(outdir: Path) -> None:
    """Write the sample archive, service file, expected events and README into ``outdir``."""
    scenario = sample_scenario()
    runs = simulate(scenario)
    files = write_archive(scenario, outdir, runs)
    events = expected_events(scenario, runs=runs)
    dwell = expected_events(scenario, SAMPLE_MIN_DWELL_S, runs=runs)
    (outdir / "service.toml").write_text(service_toml(scenario))
    (outdir / "expected-events.csv").write_text(events_csv(events))
    (outdir / f"expected-events-dwell{SAMPLE_MIN_DWELL_S:.0f}.csv").write_text(events_csv(dwell))
    rel = sorted(str(p.relative_to(outdir)) for p in files)
    (outdir / "README.md").write_text(readme(scenario, rel, events, dwell))


def _count_table(events: list[ExpectedEvent], dwell: list[ExpectedEvent]) -> list[str]:
    kinds = ("switch", "withdraw", "restore", "path_change", "origin_change", "gap_start")
    raw = Counter((e.collector, e.kind) for e in events)
    filt = Counter((e.collector, e.kind) for e in dwell)
    lines = ["| collector | " + " | ".join(kinds) + f" | breaks (min_dwell {SAMPLE_MIN_DWELL_S:.0f} s) |"]
    lines.append("|" + " --- |" * (len(kinds) + 2))
    for coll in COLLECTORS:
        breaks = filt[(coll.name, "switch")] + filt[(coll.name, "withdraw")]
        counts = " | ".join(str(raw[(coll.name, k)]) for k in kinds)
        lines.append(f"| {coll.name} | {counts} | {breaks} |")
    return lines


def _clock(scenario: Scenario, offset: float) -> str:
    seconds = int(scenario.start + offset)
    return f"{seconds // 3600 % 24:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def _script_lines(scenario: Scenario) -> list[str]:
    lines = ["| time (UTC) | what happens |", "| --- | --- |"]
    for h in scenario.script:
        when = _clock(scenario, h.at)
        if isinstance(h, Transient):
            what = f"site {h.via}" if h.via else "a longer path to their site (extra AS4200000099)"
            text = f"path exploration: {len(h.vps)} VPs ({_vp_list(h.vps)}) see {what} for {h.duration:g} s"
        elif isinstance(h, SiteDown):
            text = (
                f"site {h.site} withdraws; VPs move to their next site (those that reach only it: withdraw)"
            )
        elif isinstance(h, SiteUp):
            text = f"site {h.site} announces again; VPs that prefer it move back"
        elif isinstance(h, SessionReset):
            text = f"{_vp_list((h.vp,))}: session down (6 -> 1), back after {h.down_for:g} s, table re-sent"
            text += "; changes during the gap and the 300 s resync that follows are judged at its end"
        elif isinstance(h, Prepend):
            text = f"site {h.site} prepends its origin {h.prepend}x: a path change, same site"
        else:
            text = (
                f"more-specific {h.prefix} (covering 192.0.2.53) from AS{h.origin_asn} via AS{h.upstream_asn}"
            )
            text += f", seen by {len(h.vps or ())} IPv4 VPs, withdrawn at {_clock(scenario, h.until)}"
        lines.append(f"| {when} | {text} |")
    return lines


def _vp_list(vps: tuple[tuple[str, int, str], ...]) -> str:
    return ", ".join(f"{c} AS{a} {ip}" for c, a, ip in vps)


def _break_lines(events: list[ExpectedEvent]) -> list[str]:
    lines = ["| time (UTC) | collector | VP | target | event |", "| --- | --- | --- | --- | --- |"]
    for e in sorted(events, key=lambda e: (e.time_us, e.collector, e.peer_ip)):
        if e.kind in ("switch", "withdraw", "restore"):
            secs = e.time_us / US_PER_S
            stamp = f"{int(secs) // 3600 % 24:02d}:{int(secs) // 60 % 60:02d}:{secs % 60:06.3f}"
            flag = " (across a gap)" if e.across_gap else ""
            event = f"{e.kind} {e.old_site or '-'} -> {e.new_site or '-'}{flag}"
            lines.append(f"| {stamp} | {e.collector} | AS{e.peer_asn} {e.peer_ip} | {e.target} | {event} |")
    return lines


def readme(
    scenario: Scenario, files: list[str], events: list[ExpectedEvent], dwell: list[ExpectedEvent]
) -> str:
    """The sample's README: what it is, how to regenerate it, what happens, what the analysis should find."""
    parts = [
        *_intro_lines(scenario),
        "## What happens",
        "",
        *_script_lines(scenario),
        "",
        "Each VP hears of a happening after its own delay of 0.2 to 8 s.",
        "",
        "## Expected results",
        "",
        "`expected-events.csv` lists every event the analysis should report (min_dwell 0, resync 300 s),",
        f"`expected-events-dwell{SAMPLE_MIN_DWELL_S:.0f}.csv` every event left with min_dwell "
        f"{SAMPLE_MIN_DWELL_S:.0f} s (the path-exploration transients vanish; paths and origins come from",
        "the filtered timeline). Counts per collector:",
        "",
        *_count_table(events, dwell),
        "",
        "Site events with min_dwell 0:",
        "",
        *_break_lines(events),
        "",
        "## Files",
        "",
        *[f"- `{f}`" for f in files],
        "",
    ]
    return "\n".join(parts)


def _intro_lines(scenario: Scenario) -> list[str]:
    sites = ", ".join(
        f"{s.name} (AS{s.upstream_asn} -> AS{s.origin_asn}, {s.community})" for s in scenario.sites
    )
    n_vps = Counter(v.collector for v in scenario.vps)
    return [
        "# Sample archive: a fictional anycast DNS service",
        "",
        "Generated, not measured: every byte here is written by `python -m anystab.generate data/` (the same",
        "bytes on every run; a test checks that this folder equals a fresh generation). Do not edit by hand.",
        "",
        f"Service `{SERVICE_NAME}` ([service.toml](service.toml)): targets "
        + ", ".join(f"{t.prefix} (address {t.address})" for t in scenario.targets)
        + f", announced by origin AS{ORIGIN_ASN} from four sites: {sites}.",
        "Prefixes, addresses and AS numbers are from the documentation and private ranges (RFC 5737,",
        "RFC 3849, RFC 5398, RFC 6996).",
        "",
        f"Collectors: rrc00 (RIPE RIS layout, BGP4MP_ET with microseconds, {n_vps['rrc00']} VPs) and",
        f"route-views.linx (RouteViews layout, BGP4MP with whole seconds, {n_vps['route-views.linx']} VPs).",
        f"Each has a RIB dump at 2025-06-02 00:00 UTC and {scenario.duration_s // 60} minutes of updates",
        "(5-minute files for RIS, 15-minute files for RouteViews), with"
        f" {scenario.noise_v4} IPv4 and {scenario.noise_v6} IPv6",
        "background prefixes (each VP carries about a third of them and re-announces or withdraws some)",
        "and a default route at a few VPs, so that the prefix filter matters. IPv4 VPs carry the IPv4",
        "target, IPv6 VPs the IPv6 one.",
        "",
        "Analyse it with: `anystab analyze data/ --service data/service.toml`.",
        "",
    ]
