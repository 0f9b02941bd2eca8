"""Carrying each vantage point's route state from one monitor run to the next.

Steps:

1. The cut T_c of a run: its window's end less :data:`SNAPSHOT_LAG_S`, aligned down to the interval, never
   before the window's start.
2. Per service, the timeline is the resumable walk of :mod:`anystab.timeline` (:func:`walk_timeline`: the
   same state machine and rows as one analysis), which ends with every VP's walk at T_c
   (:class:`~anystab.timeline.WalkSnapshot`). It is saved as gzip-compressed JSON.
3. A later run resumes from the saved walks when the settings and the window's start are the same and
   T_c is before the change horizon H (nothing at or before T_c can differ). Only the elements at or after
   T_c are walked, and the timeline is that of one walk of the whole period.
4. When the snapshot cannot give it (a VP's elements concern a new target, or a VP never observed before
   T_c has elements after it): :class:`~anystab.timeline.ResumeMiss`, and the run recomputes the service
   from every element.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import math

from anystab.timeline import WalkSnapshot

SNAPSHOT_LAG_S = 2 * 3600.0


def cut_time(window: tuple[float, float], interval_s: float) -> float:
    """Step 1."""
    cut = math.floor((window[1] - SNAPSHOT_LAG_S) / interval_s) * interval_s
    return max(cut, window[0])


def snapshot_bytes(snapshot: WalkSnapshot) -> bytes:
    """Step 2: the saved form (the same bytes for the same walks)."""
    return gzip.compress(json.dumps(snapshot.to_json(), sort_keys=True).encode(), mtime=0)


def snapshot_from_bytes(data: bytes) -> WalkSnapshot:
    """The walks :func:`snapshot_bytes` saved (ValueError, KeyError or EOFError when damaged)."""
    return WalkSnapshot.from_json(json.loads(gzip.decompress(data)))


def snapshot_digest(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()[:16]
