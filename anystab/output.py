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
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from anystab import schemas
from anystab.errors import ConfigError

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

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


_SCALARS = frozenset({str, int, float, bool, type(None)})
_NUMBERS = frozenset({int, float, bool, type(None)})
_TEXTS = frozenset({str, type(None)})


def _record_keys(values: list[Any]) -> tuple[str, ...] | None:
    """The keys of a list of dicts (records) that all have the same text keys in the same order and only
    scalar values; None for any other list."""
    first = values[0]
    if type(first) is not dict or not first or not all(type(k) is str for k in first):
        return None
    keys = tuple(first)
    if not all(type(r) is dict and tuple(r) == keys for r in values):
        return None
    return keys


def _column_texts(column: list[Any]) -> list[str] | None:
    """Each value of a column as ``json.dumps`` writes it, by the column's types (None: not all scalars).
    Numbers, booleans and null never hold ``", "``, so the compiled encoder writes a whole column of them at
    once and its text is split."""
    types = set(map(type, column))
    if not types <= _SCALARS:
        return None
    if types <= _NUMBERS:
        return json.dumps(column)[1:-1].split(", ")
    if types <= _TEXTS:
        text = json.encoder.encode_basestring_ascii  # what json.dumps writes a string with
        if type(None) not in types:
            return list(map(text, column))
        return ["null" if v is None else text(v) for v in column]
    return [json.dumps(v) for v in column]


def _records_parts(values: list[Any], inner: str, deeper: str) -> list[str] | None:
    """The items of a list of records (:func:`_record_keys`) as :func:`dumps_indented` writes them, one
    column at a time, in parts of :data:`RECORDS_AT_ONCE` records (to be joined by a comma and ``inner``):
    each record is one filled template (None: not such a list)."""
    keys = _record_keys(values)
    if keys is None:
        return None
    fields = ("," + deeper).join(json.dumps(k).replace("%", "%%") + ": %s" for k in keys)
    template = "{" + deeper + fields + inner + "}"
    parts = []
    for first in range(0, len(values), RECORDS_AT_ONCE):  # the values' texts of a part at a time
        part = values[first : first + RECORDS_AT_ONCE]
        columns = [_column_texts([r[k] for r in part]) for k in keys]
        if any(c is None for c in columns):
            return None
        parts.append(("," + inner).join([template % row for row in zip(*columns, strict=True)]))
    return parts


RECORDS_AT_ONCE = 8192


def _distinct_texts(codes: np.ndarray, texts: list[str]) -> list[str]:
    """Each row's text from its value's code (-1: missing, ``null``) and the distinct values' texts."""
    import numpy as np

    shared: list[str] = np.array([*texts, "null"], dtype=object)[codes].tolist()
    return shared


def _series_texts(column: pd.Series) -> list[str] | None:
    """Each value of a frame's column as ``json.dumps`` writes it after :func:`anystab.summary.clean_column`,
    each distinct value's text made once (None: not all scalars). Floats are told apart by their bits, so
    that -0.0 and 0.0 keep their own texts; NaN and infinities are ``null``, as the summary makes them."""
    import numpy as np
    import pandas as pd

    from anystab.summary import clean_column

    if isinstance(column.dtype, pd.StringDtype):
        codes, uniques = pd.factorize(column, use_na_sentinel=True)
        return _distinct_texts(codes, list(map(json.encoder.encode_basestring_ascii, uniques.tolist())))
    kind = column.dtype.kind if isinstance(column.dtype, np.dtype) else None
    if kind == "f":
        values = column.to_numpy(dtype=np.float64)
        codes, bits = pd.factorize(values.view(np.int64))
        uniques = bits.view(np.float64)
        finite = np.isfinite(uniques)
        texts = json.dumps(np.where(finite, uniques, 0.0).tolist())[1:-1].split(", ")
        written = [t if f else "null" for t, f in zip(texts, finite.tolist(), strict=True)]
        return _distinct_texts(codes, written)
    if kind in ("i", "u", "b"):
        codes, uniques = pd.factorize(column.to_numpy())
        return _distinct_texts(codes, json.dumps(uniques.tolist())[1:-1].split(", "))
    return _column_texts(clean_column(column))


def _frame_parts(frame: pd.DataFrame, inner: str, deeper: str) -> Iterator[str] | None:
    """The items of a :class:`~anystab.summary.RecordFrame`'s list as :func:`dumps_indented` writes them, in
    parts of :data:`RECORDS_AT_ONCE` records: each column's texts laid between the keys' texts by slices of
    one list (None: a column not of scalars)."""
    keys = [str(k) for k in frame.columns]
    columns = [_series_texts(frame[k]) for k in frame.columns]
    if any(c is None for c in columns):
        return None
    return _frame_blocks(keys, columns, len(frame), inner, deeper)  # type: ignore[arg-type]


def _frame_blocks(
    keys: list[str], columns: list[list[str]], rows: int, inner: str, deeper: str
) -> Iterator[str]:
    """:func:`_frame_parts`' parts, from each column's texts."""
    width = 2 * len(keys) + 1  # per record: each key's text and its value's, then the closing brace
    heads = ["," + inner + "{" + deeper] + ["," + deeper] * (len(keys) - 1)
    for first in range(0, rows, RECORDS_AT_ONCE):
        n = min(RECORDS_AT_ONCE, rows - first)
        pieces: list[str] = [""] * (n * width)
        for j, (key, texts) in enumerate(zip(keys, columns, strict=True)):
            pieces[2 * j :: width] = [heads[j] + json.dumps(key) + ": "] * n
            pieces[2 * j + 1 :: width] = texts[first : first + n]
        pieces[width - 1 :: width] = [inner + "}"] * n
        if not first:  # the list's first record: no comma before it
            pieces[0] = pieces[0][len("," + inner) :]
        yield "".join(pieces)


def dumps_indented(value: Any, indent: int = 2) -> str:
    """``json.dumps(value, indent=indent)``, text for text, many times faster on large summaries; a
    :class:`~anystab.summary.RecordFrame` is written as the list of records it stands for.

    Python's indenting encoder is pure Python; a dict or list of scalars is encoded here by the compiled
    encoder, whose item separator is given the newline and the indent the pure one would write.
    """
    return "".join(_indented_parts(value, indent, 1))


def write_indented(value: Any, stream: TextIO, indent: int = 2) -> None:
    """Write :func:`dumps_indented`'s text to ``stream`` a part at a time: the text of a summary of many
    targets (tens of MB) is never joined, nor copied whole."""
    for part in _indented_parts(value, indent, 1):
        stream.write(part)


def _indented_parts(value: Any, indent: int, level: int) -> Iterator[str]:
    """The text of :func:`dumps_indented` in parts, ``level`` deep."""
    from anystab.summary import RecordFrame  # pandas: only where a summary is written

    inner = "\n" + " " * (indent * level)
    outer = "\n" + " " * (indent * (level - 1))
    if isinstance(value, RecordFrame):
        written = _frame_parts(value.frame, inner, inner + " " * indent) if len(value) else None
        if written is not None:
            yield "[" + inner
            yield from written
            yield outer + "]"
            return
        value = value.to_list()
    if not isinstance(value, dict | list | tuple) or not value:
        yield json.dumps(value)
        return
    opening, closing = ("{", "}") if isinstance(value, dict) else ("[", "]")
    records = _records_parts(value, inner, inner + " " * indent) if isinstance(value, list) else None
    if records is not None:
        yield opening + inner
        for i, part in enumerate(records):
            if i:
                yield "," + inner
            yield part
    elif _flat(value):
        yield opening + inner + _flat_text(value, inner)
    elif isinstance(value, dict):
        yield opening
        for i, (k, v) in enumerate(value.items()):
            yield ("," if i else "") + inner + json.dumps(_key_text(k)) + ": "
            yield from _indented_parts(v, indent, level + 1)
    else:
        yield opening
        for i, v in enumerate(value):
            yield "," + inner if i else inner
            yield from _indented_parts(v, indent, level + 1)
    yield outer + closing
