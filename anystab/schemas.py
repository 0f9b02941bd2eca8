"""Parquet schemas of every table anystab writes: defined once, here, and versioned.

docs/schema.md is tested against these definitions. Bump :data:`SCHEMA_VERSION` when a column changes
meaning or type; adding a column is a minor bump.

Times are ``timestamp[us, UTC]``. ``target`` is the target prefix as text; sites are text.
"""

from __future__ import annotations

import pyarrow as pa

SCHEMA_VERSION = "1.1"

TS = pa.timestamp("us", tz="UTC")


def _schema(name: str, fields: list[tuple[str, pa.DataType, str]]) -> pa.Schema:
    return pa.schema(
        [pa.field(n, t, metadata={"doc": d}) for n, t, d in fields],
        metadata={"anystab.table": name, "anystab.schema_version": SCHEMA_VERSION},
    )


ELEMENTS = _schema(
    "elements",
    [
        (
            "time",
            TS,
            "time of the MRT record (BGP4MP_ET: with microseconds; TABLE_DUMP_V2: the record header time)",
        ),
        ("elem_type", pa.string(), "R (RIB entry), A (announcement), W (withdrawal), S (peer state change)"),
        ("collector", pa.string(), "collector name (rrc00, route-views2, ...)"),
        ("peer_asn", pa.int64(), "AS number of the collector's peer"),
        ("peer_ip", pa.string(), "address of the collector's peer"),
        ("prefix", pa.string(), "prefix as written in the record (null for S)"),
        ("path_id", pa.int64(), "ADD-PATH path identifier (null without ADD-PATH)"),
        ("as_path", pa.string(), "AS path as bgpdump prints it (null for W and S)"),
        ("bgp_origin", pa.string(), "ORIGIN attribute: IGP, EGP or INCOMPLETE"),
        ("next_hop", pa.string(), "next hop (IPv6: the first, global, address)"),
        ("local_pref", pa.int64(), "LOCAL_PREF (0 when absent, as bgpdump prints it)"),
        ("med", pa.int64(), "MULTI_EXIT_DISC (0 when absent, as bgpdump prints it)"),
        ("communities", pa.list_(pa.string()), "standard communities as ASN:VALUE text"),
        ("atomic_aggregate", pa.bool_(), "ATOMIC_AGGREGATE present"),
        ("aggregator", pa.string(), "AGGREGATOR as 'ASN address' (null when absent)"),
        ("old_state", pa.int16(), "S only: BGP FSM state before (6 = Established; 7, 8 non-standard)"),
        ("new_state", pa.int16(), "S only: BGP FSM state after"),
        ("source", pa.string(), "the file the element was read from"),
    ],
)

TIMELINE = _schema(
    "timeline",
    [
        ("collector", pa.string(), "collector of the vantage point"),
        ("peer_asn", pa.int64(), "vantage point's AS number"),
        ("peer_ip", pa.string(), "vantage point's address"),
        ("target", pa.string(), "target prefix"),
        ("start", TS, "interval start (inclusive)"),
        ("end", TS, "interval end (exclusive)"),
        (
            "state",
            pa.string(),
            "routed, unrouted or unobserved (a gap: session down, resync, or missing archive file)",
        ),
        (
            "site",
            pa.string(),
            "site of the effective route: its name in the site map, else its signature; null unless routed",
        ),
        ("signature", pa.string(), "site signature text under the chosen strategy; null unless routed"),
        ("prefix", pa.string(), "prefix of the effective (longest-match) route"),
        ("as_path", pa.string(), "AS path of the effective route"),
        ("origin", pa.string(), "origin AS of the effective route ('{a,b}' for an AS_SET)"),
        ("next_hop", pa.string(), "next hop of the effective route"),
        ("communities", pa.list_(pa.string()), "communities of the effective route"),
    ],
)

EVENTS = _schema(
    "events",
    [
        ("time", TS, "when the event happened (for changes across a gap: the gap's end)"),
        ("collector", pa.string(), "collector"),
        ("peer_asn", pa.int64(), "vantage point's AS number"),
        ("peer_ip", pa.string(), "vantage point's address"),
        ("target", pa.string(), "target prefix"),
        ("kind", pa.string(), "switch, withdraw, restore, path_change, origin_change, gap_start or gap_end"),
        ("old_site", pa.string(), "site before (null when unrouted)"),
        ("new_site", pa.string(), "site after (null when unrouted)"),
        ("old_path", pa.string(), "AS path before"),
        ("new_path", pa.string(), "AS path after"),
        ("old_origin", pa.string(), "origin AS before"),
        ("new_origin", pa.string(), "origin AS after"),
        ("across_gap", pa.bool_(), "the change happened while the vantage point was unobserved"),
    ],
)

VP_STATS = _schema(
    "vp_stats",
    [
        ("collector", pa.string(), "collector"),
        ("peer_asn", pa.int64(), "vantage point's AS number"),
        ("peer_ip", pa.string(), "vantage point's address"),
        ("target", pa.string(), "target prefix"),
        ("observed_s", pa.float64(), "seconds observed in the window"),
        ("routed_s", pa.float64(), "seconds observed with a route to the target"),
        ("switches", pa.int64(), "site switches after the min_dwell filter"),
        ("withdraws", pa.int64(), "withdrawals (site -> unrouted) after the min_dwell filter"),
        ("restores", pa.int64(), "restorations (unrouted -> site) after the min_dwell filter"),
        ("path_changes", pa.int64(), "AS path changes without a site change, after the min_dwell filter"),
        ("origin_changes", pa.int64(), "origin AS changes, after the min_dwell filter"),
        ("gaps", pa.int64(), "observation gaps"),
        ("switches_raw", pa.int64(), "site switches before the min_dwell filter"),
        ("withdraws_raw", pa.int64(), "withdrawals before the min_dwell filter"),
        ("sites", pa.int64(), "distinct sites seen"),
        ("mean_dwell_s", pa.float64(), "mean length of a routed site state (after filtering); null if none"),
    ],
)

ESTIMATES = _schema(
    "estimates",
    [
        ("scope", pa.string(), "'all' or a collector name"),
        ("target", pa.string(), "target prefix"),
        ("session_s", pa.float64(), "session length D in seconds"),
        ("vps", pa.int64(), "vantage points observed for the target in this scope"),
        ("vps_defined", pa.int64(), "vantage points with P_v(D) defined (|T| > 0)"),
        ("mean_p", pa.float64(), "mean of P_v(D) over VPs where defined (each VP weighs the same)"),
        ("median_p", pa.float64(), "median of P_v(D)"),
        ("p90_p", pa.float64(), "90th percentile of P_v(D)"),
        ("p99_p", pa.float64(), "99th percentile of P_v(D)"),
        ("share_with_break", pa.float64(), "share of observed VPs with at least one break event"),
        ("ci_low", pa.float64(), "95% bootstrap interval of the mean, low end (seeded)"),
        ("ci_high", pa.float64(), "95% bootstrap interval of the mean, high end (seeded)"),
        (
            "poisson_mean_p",
            pa.float64(),
            "mean over VPs of 1 - exp(-lambda_v D), lambda_v = breaks / routed time",
        ),
        ("breaks_per_vp_day", pa.float64(), "break events per VP-day of observed time"),
    ],
)

SITE_SHARE = _schema(
    "site_share",
    [
        ("scope", pa.string(), "'all' or a collector name"),
        ("target", pa.string(), "target prefix"),
        ("start", TS, "interval start; the shares hold until end"),
        ("end", TS, "interval end"),
        ("site", pa.string(), "site"),
        ("vps", pa.int64(), "vantage points routed to this site"),
        ("share", pa.float64(), "vps / all routed, observed vantage points at that time"),
    ],
)

COLLECTOR_STATS = _schema(
    "collector_stats",
    [
        ("collector", pa.string(), "collector"),
        ("target", pa.string(), "target prefix"),
        ("vps", pa.int64(), "vantage points observed"),
        ("sites", pa.int64(), "distinct sites seen"),
        ("origin_changes", pa.int64(), "origin changes summed over VPs"),
        ("path_changes", pa.int64(), "path changes (site unchanged) summed over VPs"),
        ("switches", pa.int64(), "site switches summed over VPs (after filter)"),
        ("moas_intervals", pa.int64(), "intervals in which VPs disagree on the origin"),
        ("moas_s", pa.float64(), "seconds of such disagreement"),
    ],
)

MOAS = _schema(
    "moas",
    [
        ("collector", pa.string(), "collector"),
        ("target", pa.string(), "target prefix"),
        ("start", TS, "interval start"),
        ("end", TS, "interval end"),
        ("origins", pa.list_(pa.string()), "the origins seen by VPs at that time, sorted"),
    ],
)

FILES = _schema(
    "files",
    [
        ("path", pa.string(), "file read"),
        ("collector", pa.string(), "collector the file belongs to"),
        ("kind", pa.string(), "rib, updates, empty or unknown (told from its records)"),
        ("records", pa.int64(), "MRT records in the file"),
        ("elements", pa.int64(), "elements kept by the prefix filter"),
        ("first_time", TS, "first record time"),
        ("last_time", TS, "last record time"),
        ("problems", pa.int64(), "problems found (see problems table)"),
    ],
)

PROBLEMS = _schema(
    "problems",
    [
        ("path", pa.string(), "file"),
        (
            "offset",
            pa.int64(),
            "byte offset in the decompressed stream where the damage starts (null if unknown)",
        ),
        ("reason", pa.string(), "what was wrong"),
        ("count", pa.int64(), "how many records or bytes it concerns"),
    ],
)

GAPS = _schema(
    "gaps",
    [
        ("collector", pa.string(), "collector unobserved"),
        ("start", TS, "start of the missing interval"),
        ("end", TS, "end of the missing interval"),
        (
            "reason",
            pa.string(),
            "missing_file, or outside_data when the window reaches past the files read, or warm_up_missing "
            "before the window start: no update file between the RIB dump and the window (stale state)",
        ),
    ],
)

COVERAGE = _schema(
    "coverage",
    [
        ("collector", pa.string(), "collector"),
        ("peer_asn", pa.int64(), "vantage point's AS"),
        ("peer_ip", pa.string(), "vantage point's address"),
        (
            "reason",
            pa.string(),
            "why a VP that sent elements counts for no target: collector_unobserved, no_route, "
            "not_in_window or session (docs/method.md)",
        ),
    ],
)

TABLES: dict[str, pa.Schema] = {
    "elements": ELEMENTS,
    "timeline": TIMELINE,
    "events": EVENTS,
    "vp_stats": VP_STATS,
    "estimates": ESTIMATES,
    "site_share": SITE_SHARE,
    "collector_stats": COLLECTOR_STATS,
    "moas": MOAS,
    "files": FILES,
    "problems": PROBLEMS,
    "gaps": GAPS,
    "coverage": COVERAGE,
}


def empty(name: str) -> pa.Table:
    """An empty table with the named schema."""
    return TABLES[name].empty_table()


def markdown() -> str:
    """The schema reference as Markdown (docs/schema.md embeds exactly this; a test keeps them equal)."""
    lines = [f"Schema version: **{SCHEMA_VERSION}**", ""]
    for name, schema in TABLES.items():
        lines += [f"### `{name}.parquet`", "", "| column | type | meaning |", "| --- | --- | --- |"]
        for f in schema:
            doc = (f.metadata or {}).get(b"doc", b"").decode()
            lines.append(f"| `{f.name}` | `{f.type}` | {doc} |")
        lines.append("")
    return "\n".join(lines)
