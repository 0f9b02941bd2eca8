import pytest

from anystab.cli.options import parse_duration, parse_time


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("10", 10),
        ("10s", 10),
        ("1m", 60),
        ("10m", 600),
        ("1h", 3600),
        ("1d", 86400),
        ("1.5h", 5400),
        ("1w", 604800),
    ],
)
def test_durations(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "ten", "10x", "-5s", "1h30"])
def test_bad_durations(text):
    with pytest.raises(ValueError):
        parse_duration(text)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("1445565678", 1445565678.0),
        ("1445565678.5", 1445565678.5),
        ("2015-10-23T02:01:18Z", 1445565678.0),
        ("2015-10-23T02:01:18", 1445565678.0),
        ("2015-10-23 04:01:18+02:00", 1445565678.0),
        ("2015-10-23", 1445558400.0),
    ],
)
def test_times(text, seconds):
    assert parse_time(text) == seconds


def test_bad_time():
    with pytest.raises(ValueError, match="ISO 8601"):
        parse_time("yesterday")
