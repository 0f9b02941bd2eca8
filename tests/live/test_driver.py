"""The live driver: batches give exactly the batch analysis' events, with compaction, stream gaps, parquet."""

from __future__ import annotations

import asyncio
import json
import random
import time
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

from anystab import schemas
from anystab.errors import ConfigError
from anystab.events import build_events
from anystab.live import EventLog, LiveAnalysis, LiveConfig, read_event_log, run_live
from anystab.params import AnalysisParams
from anystab.sources.rislive import Backoff, LiveItem, RisLiveSource
from anystab.targets import make_target, target_set
from anystab.timeline import build_timeline

KEY = ["time", "collector", "peer_asn", "peer_ip", "target", "kind"]
PARAMS = AnalysisParams(targets=target_set([make_target("192.0.2.0/24", "192.0.2.53")]), resync_s=30)
PREFIXES = ["192.0.2.0/24", "192.0.2.0/25", "192.0.0.0/16", "198.51.100.0/24"]
T0_US = 1_700_000_000_000_000


def _row(t: int, vp: tuple[str, int, str], **values: object) -> dict:
    row = dict.fromkeys(schemas.ELEMENTS.names)
    row.update(time=t, collector=vp[0], peer_asn=vp[1], peer_ip=vp[2], source="test", **values)
    return row


def _announce(t: int, vp: tuple[str, int, str], prefix: str, upstream: int, origin: int) -> dict:
    path = f"{vp[1]} {upstream} {origin}"
    return _row(t, vp, elem_type="A", prefix=prefix, as_path=path, next_hop=vp[2], communities=[])


def random_stream(seed: int, n: int = 400) -> list[dict]:
    """Elements of four VPs on two collectors: announcements, withdrawals, sessions down and up, often
    several at one time."""
    rng = random.Random(seed)
    vps = [(f"rrc0{i % 2}", 64500 + i, f"10.0.0.{i}") for i in range(4)]
    t, rows = T0_US, []
    for _ in range(n):
        t += rng.choice([0, 0, rng.randint(1, 20_000_000)])
        vp, x = rng.choice(vps), rng.random()
        if x < 0.05:
            rows.append(_row(t, vp, elem_type="S", old_state=6, new_state=1))
        elif x < 0.1:
            rows.append(_row(t, vp, elem_type="S", old_state=1, new_state=6))
        elif x < 0.3:
            rows.append(_row(t, vp, elem_type="W", prefix=rng.choice(PREFIXES)))
        else:
            prefix = rng.choice(PREFIXES)
            rows.append(
                _announce(t, vp, prefix, rng.choice([64496, 64497, 64498]), rng.choice([64511, 64512]))
            )
    return rows


def _batch_events(rows: list[dict], gaps: list[tuple[float, float]]) -> pd.DataFrame:
    elements = pa.Table.from_pylist(rows, schema=schemas.ELEMENTS).to_pandas()
    gap_rows = [{"collector": c, "start": round(s * 1e6), "end": round(e * 1e6), "reason": "stream"}
                for s, e in gaps for c in ("rrc00", "rrc01")]  # fmt: skip
    gap_frame = pa.Table.from_pylist(gap_rows, schema=schemas.GAPS).to_pandas()
    window = (rows[0]["time"] / 1e6, (rows[-1]["time"] + 1) / 1e6)
    events, _ = build_events(build_timeline(elements, PARAMS, window, gap_frame), PARAMS)
    return events.sort_values(KEY, kind="stable").reset_index(drop=True)


def _live_events(
    rows: list[dict], gaps: list[tuple[float, float]], retention: float, seed: int
) -> pd.DataFrame:
    rng = random.Random(seed)
    live = LiveAnalysis(PARAMS, retention)
    pending, out, k = sorted(gaps), [], 0
    while k < len(rows):
        size = rng.randint(1, 30)
        live.add(rows[k : k + size])
        k += size
        while pending and pending[0][0] * 1e6 <= rows[k - 1 if k <= len(rows) else -1]["time"]:
            live.add_gap(*pending.pop(0))  # known from the reconnection on, before later elements
        out.append(live.step())
    for gap in pending:
        live.add_gap(*gap)
    out.append(live.step(settled=True))
    return pd.concat(out, ignore_index=True).sort_values(KEY, kind="stable").reset_index(drop=True)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("retention", [1e9, 200.0, 31.0])
def test_batches_with_compaction_and_stream_gaps_give_the_batch_analysis_events(seed, retention):
    rows = random_stream(seed)
    rng = random.Random(seed * 7)
    w0, w1 = rows[0]["time"] / 1e6, rows[-1]["time"] / 1e6
    gaps = sorted((s, s + rng.uniform(1, 60)) for s in (rng.uniform(w0, w1), rng.uniform(w0, w1)))
    expected = _batch_events(rows, gaps)
    assert len(expected) > 20
    got = _live_events(rows, gaps, retention, seed)
    pd.testing.assert_frame_equal(got, expected)


def test_compaction_bounds_the_elements_held():
    rows = random_stream(3, n=3000)
    live = LiveAnalysis(PARAMS, retention_s=60.0)
    for k in range(0, len(rows), 50):
        live.add(rows[k : k + 50])
        live.step()
    assert live.cut_us is not None
    assert live.retained() < len(rows) / 4


def test_events_at_the_newest_time_wait_until_the_stream_settles():
    vp = ("rrc00", 64500, "10.0.0.1")
    live = LiveAnalysis(PARAMS)
    live.add([_announce(T0_US, vp, "192.0.2.0/24", 64496, 64511)])
    live.add([_announce(T0_US + 10_000_000, vp, "192.0.2.0/24", 64497, 64511)])
    assert live.step().empty
    (event,) = live.step(settled=True).itertuples()
    assert (event.kind, event.old_site, event.new_site) == ("switch", "64496 64511", "64497 64511")
    assert live.step(settled=True).empty  # never emitted twice
    live.add([_announce(T0_US + 20_000_000, vp, "192.0.2.0/24", 64498, 64511)])
    assert live.step().empty
    assert list(live.step(settled=True)["new_site"]) == ["64498 64511"]


def test_min_dwell_holds_events_back_until_the_state_has_lasted():
    params = AnalysisParams(targets=PARAMS.targets, min_dwell_s=60.0)
    vp = ("rrc00", 64500, "10.0.0.1")
    live = LiveAnalysis(params)
    live.add([_announce(T0_US, vp, "192.0.2.0/24", 64496, 64511)])
    live.add([_announce(T0_US + 10_000_000, vp, "192.0.2.0/24", 64497, 64511)])
    live.add([_announce(T0_US + 30_000_000, vp, "192.0.2.0/24", 64496, 64511)])  # 20 s: a transient
    live.add([_row(T0_US + 100_000_000, vp, elem_type="W", prefix="198.51.100.0/24")])
    assert live.step(settled=True).empty
    live.add([_announce(T0_US + 200_000_000, vp, "192.0.2.0/24", 64498, 64511)])
    live.add([_row(T0_US + 300_000_000, vp, elem_type="W", prefix="198.51.100.0/24")])
    assert list(live.step()["kind"]) == ["switch"]


def test_event_log_writes_numbered_parts_and_continues_the_numbering(tmp_path):
    events = _batch_events(random_stream(1), [])
    log = EventLog(tmp_path)
    log.append(events.iloc[:5])
    assert log.flush() == tmp_path / "events" / "part-000000.parquet"
    log.append(events.iloc[5:])
    log.flush()
    assert log.flush() is None
    again = EventLog(tmp_path)
    again.append(events.iloc[:1])
    assert again.flush() == tmp_path / "events" / "part-000002.parquet"
    assert sorted(p.name for p in (tmp_path / "events").iterdir()) == [
        "part-000000.parquet", "part-000001.parquet", "part-000002.parquet"]  # fmt: skip
    back = read_event_log(tmp_path)
    pd.testing.assert_frame_equal(back.iloc[: len(events)], events)
    assert len(back) == len(events) + 1


def test_event_log_refuses_a_file_where_its_folder_goes(tmp_path):
    (tmp_path / "events").write_text("not a folder")
    with pytest.raises(ConfigError):
        EventLog(tmp_path)


@pytest.mark.parametrize(
    "changes",
    [{"batch_s": 0}, {"settle_s": -1}, {"retention_s": 10}, {"duration_s": 0}, {"max_events": 0}],
)
def test_config_checks_its_values(changes):
    with pytest.raises(ConfigError):
        LiveConfig(params=PARAMS, **changes).validate()


class Recorder:
    """A sink that keeps what it is given."""

    def __init__(self) -> None:
        self.batches: list[pd.DataFrame] = []
        self.notices: list[LiveItem] = []

    def events(self, events: pd.DataFrame) -> None:
        self.batches.append(events)

    def notice(self, item: LiveItem) -> None:
        self.notices.append(item)


def _frame(t: float, upstream: int) -> str:
    data = {"timestamp": t, "peer": "10.0.0.1", "peer_asn": "64500", "host": "rrc00", "type": "UPDATE",
            "path": [64500, upstream, 64511], "announcements": [
                {"next_hop": "10.0.0.1", "prefixes": ["192.0.2.0/24"]}]}  # fmt: skip
    return json.dumps({"type": "ris_message", "data": data})


def test_a_disconnection_is_a_stream_gap_for_the_collectors_seen(replay, tmp_path):
    start = time.time()
    frames = [
        _frame(start - 5, 64496),
        _frame(start - 4, 64496),
        lambda: _frame(time.time() + 1, 64497),  # after the reconnection, stamped with the wall clock
        "not json",
    ]
    server = replay(frames, disconnect_after={1})
    config = LiveConfig(PARAMS, batch_s=0.1, settle_s=0.2, max_events=3, duration_s=60, out=tmp_path)
    source = RisLiveSource(PARAMS.targets, server.url, Backoff(base_s=0.2))
    sink = Recorder()
    stats = asyncio.run(run_live(config, source, sink))
    events = pd.concat(sink.batches, ignore_index=True)
    assert list(events["kind"]) == ["gap_start", "gap_end", "switch"]
    gap_start, gap_end, switch = events["time"]
    assert gap_start < gap_end < switch
    assert events["new_site"].iloc[1] == "64496 64511" and not events["across_gap"].iloc[2]
    assert (stats.connections, stats.disconnections, stats.events) == (2, 1, 3)
    assert [n.kind for n in sink.notices][:3] == ["connected", "disconnected", "connected"]
    assert len(server.connections) == 2 and all(len(c) == 1 for c in server.connections)
    pd.testing.assert_frame_equal(read_event_log(tmp_path), events)
    assert stats.parts == [Path(tmp_path) / "events" / "part-000000.parquet"]
