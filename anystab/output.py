"""Writing results: every table as ``<table>.parquet`` plus ``manifest.json``, all or nothing.

Steps:
1. Write every file into a fresh hidden folder beside the output folder.
2. If the output folder exists, it must be an earlier anystab output (it has ``manifest.json``) or empty;
   anything else is refused rather than overwritten.
3. Swap folders with two renames and delete the old one. A crash before the swap leaves the old output
   untouched and the hidden folder is removed on the next write; readers never see a half-written set.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from anystab import schemas
from anystab.errors import ConfigError

if TYPE_CHECKING:
    from anystab.pipeline import AnalysisResult

MANIFEST = "manifest.json"
PRIVATE_FILE = 0o600


def check_target(out: Path) -> None:
    """Refuse an ``out`` that exists and is not an earlier anystab output folder (nor empty)."""
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not (out / MANIFEST).exists())):
        raise ConfigError(f"{out} exists and is not an anystab output folder: choose another --out")


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_tables(
    result: AnalysisResult, out: str | os.PathLike[str], extra: dict[str, Any] | None = None
) -> Path:
    """Write all tables of ``result`` to ``out`` atomically; returns the folder."""
    import pyarrow.parquet as pq

    out = Path(out)
    check_target(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f".{out.name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        for name in schemas.TABLES:
            pq.write_table(result.table(name), tmp / f"{name}.parquet")
        manifest = {
            "schema_version": schemas.SCHEMA_VERSION,
            "tables": list(schemas.TABLES),
            "summary": result.summary(),
            **(extra or {}),
        }
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2, default=str) + "\n")
        for f in tmp.iterdir():
            with open(f, "rb") as fh:
                os.fsync(fh.fileno())
        _swap(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def _swap(tmp: Path, out: Path) -> None:
    old = out.parent / f".{out.name}.old-{os.getpid()}"
    if out.exists():
        os.replace(out, old)
    os.replace(tmp, out)
    _fsync_dir(out.parent)
    shutil.rmtree(old, ignore_errors=True)


def atomic_write_text(path: str | os.PathLike[str], text: str, private: bool = False) -> None:
    """Write a text file whole or not at all (temporary file, then rename); ``private``: mode 0600, for a
    file that may come to hold secrets (a config with a webhook URL)."""
    path = Path(path)
    tmp = path.parent / f".{path.name}.tmp-{os.getpid()}"
    try:
        mode = PRIVATE_FILE if private else 0o666
        with open(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode), "w") as fh:
            fh.write(text)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


_CONTAINERS = (dict, list, tuple)
_flat_encoders: dict[str, json.JSONEncoder] = {}


def _flat(value: Any) -> bool:
    """A dict or list none of whose values is a dict or list."""
    items = value.values() if isinstance(value, dict) else value
    return not any(isinstance(v, _CONTAINERS) for v in items)


def _flat_text(value: Any, inner: str) -> str:
    """The items of a flat dict or list, separated by a comma, a newline and the indent ``inner``."""
    encoder = _flat_encoders.get(inner)
    if encoder is None:
        encoder = _flat_encoders[inner] = json.JSONEncoder(separators=("," + inner, ": "))
    return encoder.encode(value)[1:-1]


def _key_text(key: Any) -> str:
    """A dict key as the JSON encoder writes it (keys that are not text are converted)."""
    if isinstance(key, str):
        return key
    text: str = json.loads(json.dumps({key: 0}).partition(":")[0][1:])
    return text


def dumps_indented(value: Any, indent: int = 2, _level: int = 1) -> str:
    """``json.dumps(value, indent=indent)``, text for text, many times faster on large summaries.

    Python's indenting encoder is pure Python; a dict or list of scalars is encoded here by the compiled
    encoder, whose item separator is given the newline and the indent the pure one would write.
    """
    if not isinstance(value, dict | list | tuple) or not value:
        return json.dumps(value)
    inner = "\n" + " " * (indent * _level)
    outer = "\n" + " " * (indent * (_level - 1))
    opening, closing = ("{", "}") if isinstance(value, dict) else ("[", "]")
    if _flat(value):
        body = _flat_text(value, inner)
    elif isinstance(value, dict):
        body = ("," + inner).join(
            f"{json.dumps(_key_text(k))}: {dumps_indented(v, indent, _level + 1)}" for k, v in value.items()
        )
    else:
        body = ("," + inner).join(dumps_indented(v, indent, _level + 1) for v in value)
    return opening + inner + body + outer + closing
