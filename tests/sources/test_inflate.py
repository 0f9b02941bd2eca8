"""zlib-ng's inflate gives what Python's zlib gives: the same bytes, and on a damaged stream the same
problem at the same offset (a truncated stream still yields every byte before the cut)."""

from __future__ import annotations

import hashlib
import random
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
from support.mrt_samples import MRT_DIR

from anystab.sources import decompress

GZIP_FILES = sorted(p.name for p in MRT_DIR.glob("*.gz"))
VARIANTS = 4


def _stream(path: Path, inflate: object, monkeypatch: pytest.MonkeyPatch) -> tuple[object, ...]:
    monkeypatch.setattr(decompress, "INFLATE", inflate)
    stream = decompress.open_stream(path)
    digest = hashlib.sha256()
    for chunk in stream:
        digest.update(chunk)
    return digest.hexdigest(), stream.decompressed_bytes, stream.problem, stream.problem_offset


def _damaged(raw: bytes, rng: random.Random) -> list[bytes]:
    """The file whole, cut at random points, and with random bytes overwritten."""
    out = [raw]
    for _ in range(VARIANTS):
        out.append(raw[: rng.randrange(11, len(raw))])
        start, size = rng.randrange(11, len(raw)), rng.choice((1, 8, 64))
        out.append(raw[:start] + rng.randbytes(size) + raw[start + size :])
    return out


@pytest.mark.parametrize("name", GZIP_FILES)
def test_zlib_ng_reads_as_zlib_does(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(name)
    problems = set()
    for i, data in enumerate(_damaged((MRT_DIR / name).read_bytes(), rng)):
        path = tmp_path / f"{i}.gz"
        path.write_bytes(data)
        ours = _stream(path, decompress.zlib_ng, monkeypatch)
        assert ours == _stream(path, zlib, monkeypatch), f"variant {i} of {name}"
        problems.add(str(ours[2]).split(" (")[0])
    assert "None" in problems and "truncated gzip stream" in problems


def _inflate_in_child(env: dict[str, str], code: str = "") -> str:
    run = f"{code}import anystab.sources.decompress as d; print(d.INFLATE.__name__)"
    out = subprocess.run([sys.executable, "-c", run], env=env, capture_output=True, text=True, check=True)
    return out.stdout.strip()


def test_inflate_chosen_by_install_and_env() -> None:
    """zlib-ng when installed; Python's zlib with ANYSTAB_STDLIB_ZLIB=1 or when zlib-ng cannot be
    imported."""
    base = {"PATH": "/usr/bin:/bin"}
    assert _inflate_in_child(base) == "zlib_ng.zlib_ng"
    assert _inflate_in_child({**base, decompress.STDLIB_ZLIB_ENV: "1"}) == "zlib"
    assert _inflate_in_child(base, "import sys; sys.modules['zlib_ng'] = None; ") == "zlib"
