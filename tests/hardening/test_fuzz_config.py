"""Fuzzing the configuration readers: service files, site maps, the monitoring config, the settings file.

Properties: whatever the file holds (random text, a valid example with characters flipped or lines
dropped, or well-formed TOML of random shape around the known keys), the reader returns its value or
raises :class:`ConfigError` with a message naming the file, within the case bound; nothing else escapes.
"""

from __future__ import annotations

import json
import math
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from support.fuzzing import bounded, fuzz

from anystab.errors import ConfigError
from anystab.monitor.config import EXAMPLE_CONFIG
from anystab.monitor.config import load_config as load_monitor_config
from anystab.service import load_service, load_site_map
from anystab.sources.registry import load_config as load_settings

READER = "config"
SERVICE_EXAMPLE = """\
name = "example-dns"
site_by = "community"
min_dwell = 30

[[targets]]
prefix = "198.51.100.0/24"
address = "198.51.100.53"

[[targets]]
prefix = "2001:db8:53::/48"

[sites]
"64500 64496" = "ams"

[communities]
"64496:1" = "ams"
"""
SITE_MAP_EXAMPLE = '[sites]\n"64500 64496" = "ams"\n[communities]\n"64496:1" = "ams"\n'
SETTINGS_EXAMPLE = 'cache = "cache"\n[mirrors]\nris = "http://127.0.0.1:1/ris/"\n'
KEYS = tuple(
    [
        "name",
        "site_by",
        "min_dwell",
        "targets",
        "prefix",
        "address",
        "sites",
        "communities",
        "file",
        "state_dir",
        "output_dir",
        "sessions",
        "resync",
        "interval",
        "jobs",
        "sources",
        "archives",
        "collectors",
        "start",
        "cache",
        "mirrors",
        "services",
        "alerts",
        "lookback",
        "p_break",
        "session",
        "warning",
        "critical",
        "switches",
        "per",
        "site_loss",
        "level",
        "min_duration",
        "unrouted",
        "notify",
        "webhook",
        "command",
        "timeout",
        "ris",
        "routeviews",
    ]
)
READERS: dict[str, tuple[Callable[[Path], Any], str]] = {
    "service": (load_service, SERVICE_EXAMPLE),
    "site_map": (load_site_map, SITE_MAP_EXAMPLE),
    "monitor": (load_monitor_config, EXAMPLE_CONFIG),
    "settings": (load_settings, SETTINGS_EXAMPLE),
}


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return "{" + ", ".join(f"{json.dumps(k)} = {_toml_value(v)}" for k, v in value.items()) + "}"


def to_toml(doc: dict[str, Any]) -> str:
    """A TOML document with every value inline (tables as inline tables)."""
    return "".join(f"{json.dumps(k)} = {_toml_value(v)}\n" for k, v in doc.items())


_KEY = st.sampled_from(KEYS) | st.text(max_size=8)
_SCALAR = (
    st.booleans()
    | st.integers(-(1 << 63), (1 << 63) - 1)
    | st.floats(allow_nan=True)
    | st.text(max_size=30)
    | st.sampled_from(("192.0.2.0/24", "192.0.2.53", "2001:db8::/32", "1h", "10m", "-5s", "../../x", "/etc",
                       "http://127.0.0.1:1/", "http://u:p@127.0.0.1:99999/", "upstream", "community"))
)  # fmt: skip
_VALUE = st.recursive(
    _SCALAR,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_KEY, inner, max_size=5),
    max_leaves=20,
)


def _load(reader: str, text: str | bytes) -> None:
    load, _ = READERS[reader]
    with tempfile.TemporaryDirectory(prefix="anystab-fuzz-") as tmp:
        path = Path(tmp) / "config.toml"
        path.write_bytes(text.encode() if isinstance(text, str) else text)
        with bounded(READER):
            try:
                load(path)
            except ConfigError as exc:
                assert str(path) in str(exc) or "config.toml" in str(exc), exc


@fuzz(150)
@given(reader=st.sampled_from(sorted(READERS)), doc=st.dictionaries(_KEY, _VALUE, max_size=8))
def test_random_documents(reader: str, doc: dict[str, Any]) -> None:
    _load(reader, to_toml(doc))


@fuzz(150)
@given(reader=st.sampled_from(sorted(READERS)), data=st.data())
def test_damaged_examples(reader: str, data: st.DataObject) -> None:
    lines = READERS[reader][1].splitlines(keepends=True)
    how = data.draw(st.sampled_from(("drop", "flip", "replace_value")))
    i = data.draw(st.integers(0, len(lines) - 1))
    if how == "drop":
        del lines[i]
    elif how == "flip":
        line = lines[i]
        j = data.draw(st.integers(0, max(0, len(line) - 1)))
        lines[i] = line[:j] + data.draw(st.characters(codec="utf-8")) + line[j + 1 :]
    elif "=" in lines[i]:
        key = lines[i].split("=", 1)[0]
        lines[i] = f"{key}= {_toml_value(data.draw(_VALUE))}\n"
    _load(reader, "".join(lines))


@fuzz(100)
@given(reader=st.sampled_from(sorted(READERS)), raw=st.binary(max_size=300) | st.text(max_size=300))
def test_random_bytes(reader: str, raw: bytes | str) -> None:
    _load(reader, raw)
