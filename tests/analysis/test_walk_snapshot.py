"""The resumable walk: a walk split at a cut and resumed from its snapshot gives the timeline of one walk.

Real inputs: the repository's generated sample archive (its updates, and its RIB dumps alone, where the
timeline holds zero-length snapshot rows) and a real RIS update file with many targets. Each is split at
several cuts (the window's start, element times, the quartiles); the snapshot is sent through its JSON
form before resuming, and resumed again from the snapshot the resumed walk ends with.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from anystab.pipeline import AnalysisRequest, analyze
from anystab.service import load_service, resolve_params
from anystab.text import parse_time
from anystab.timeline import PAIR_KEYS, ResumeMiss, WalkSnapshot, build_timeline, to_seconds, walk_timeline

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "data"
CASES = {
    "sample": ((str(SAMPLE),), SAMPLE / "service.toml", {}, {}),
    "sample-rib": (
        (
            str(SAMPLE / "rrc00/2025.06/bview.20250602.0000.gz"),
            str(SAMPLE / "route-views.linx/bgpdata/2025.06/RIBS/rib.20250602.0000.bz2"),
        ),
        SAMPLE / "service.toml",
        {},
        {"end": parse_time("2025-06-02T00:05:00Z")},
    ),
    "et-header": (
        (str(ROOT / "tests/data/mrt/ris.updates.et-header.2015.gz"),),
        ROOT / "tests/data/golden/et-header/service.toml",
        {"resync_s": 0.0},
        {"collector": "rrc99"},
    ),
}


@pytest.fixture(scope="module", params=sorted(CASES))
def case(request):
    sources, service, options, window = CASES[request.param]
    params = resolve_params(load_service(service), **options)
    result = analyze(AnalysisRequest(sources, params, jobs=1, **window))
    elements, gaps = result.tables["elements"], result.tables["gaps"]
    one_walk = build_timeline(elements, params, result.window, gaps)
    return request.param, elements, gaps, params, result.window, one_walk


def _rows(timeline: pd.DataFrame) -> pd.DataFrame:
    return timeline.sort_values([*PAIR_KEYS, "start", "end"], kind="stable").reset_index(drop=True)


def _cuts(elements: pd.DataFrame, window: tuple[float, float]) -> list[float]:
    times = to_seconds(elements["time"])
    inside = np.sort(times[(times >= window[0]) & (times <= window[1])])
    quartiles = [float(inside[int(q * (len(inside) - 1))]) + 0.5 for q in (0.25, 0.5, 0.75)]
    return [window[0], float(inside[len(inside) // 3]), *quartiles, window[1]]


def _through_json(snapshot: WalkSnapshot) -> WalkSnapshot:
    back = WalkSnapshot.from_json(json.loads(json.dumps(snapshot.to_json())))
    assert back == snapshot
    return back


def test_a_walk_resumed_from_its_snapshot_gives_the_timeline_of_one_walk(case):
    name, elements, gaps, params, window, one_walk = case
    expected = _rows(one_walk)
    if name == "sample-rib":
        assert (expected["start"] == expected["end"]).all() and len(expected)  # the snapshot rows
    times = to_seconds(elements["time"])
    for cut in _cuts(elements, window):
        whole, snapshot = walk_timeline(elements, params, window, gaps, cut)
        pd.testing.assert_frame_equal(_rows(whole), expected)
        assert snapshot.cut == cut and snapshot.vps
        later = elements[times >= cut].reset_index(drop=True)
        second_cut = (cut + window[1]) / 2
        resumed, again = walk_timeline(later, params, window, gaps, second_cut, _through_json(snapshot))
        pd.testing.assert_frame_equal(_rows(resumed), expected, obj=f"{name} resumed at {cut}")
        last = elements[times >= again.cut].reset_index(drop=True)
        twice, _ = walk_timeline(last, params, window, gaps, window[1], _through_json(again))
        pd.testing.assert_frame_equal(_rows(twice), expected, obj=f"{name} resumed at {cut}, {second_cut}")


def test_a_snapshot_without_a_target_a_later_element_concerns_cannot_be_resumed(case):
    name, elements, gaps, params, window, _ = case
    cut = _cuts(elements, window)[1]  # an element's time: the elements at it come after the cut
    _, snapshot = walk_timeline(elements, params, window, gaps, cut)
    later = elements[to_seconds(elements["time"]) >= cut].reset_index(drop=True)
    with_prefix = later[later["prefix"].notna()]
    concerned = set(with_prefix.groupby(["collector", "peer_asn", "peer_ip"]).groups)
    vp = next(k for k, v in snapshot.vps.items() if v.relevant and k in concerned)
    narrowed = {**snapshot.vps, vp: dataclasses.replace(snapshot.vps[vp], relevant=())}
    with pytest.raises(ResumeMiss, match="new target"):
        walk_timeline(later, params, window, gaps, window[1], WalkSnapshot(cut, window[0], narrowed))


def test_a_snapshot_of_another_format_is_refused():
    with pytest.raises(ValueError, match="format"):
        WalkSnapshot.from_json({"cut": 0, "w0": 0, "vps": []})
