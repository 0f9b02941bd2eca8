"""Site signatures under each strategy, prepending, AS_SETs and site-map names."""

from __future__ import annotations

import pytest

from anystab.params import SiteMap
from anystab.sites import LOCAL_SIGNATURE, collapse_prepending, origin_of, site_name, site_signature


@pytest.mark.parametrize(
    ("path", "tokens"),
    [
        ("3356 3356 15169 15169 15169", ["3356", "15169"]),
        ("1 2 1", ["1", "2", "1"]),
        ("174 {64512,3} {3,64512}", ["174", "{3,64512}"]),
        ("174 {20, 3 ,10}", ["174", "{3,10,20}"]),
        ("", []),
    ],
)
def test_collapse_prepending(path, tokens):
    assert collapse_prepending(path) == tokens


def test_origin_of():
    assert origin_of("3356 15169 15169") == "15169"
    assert origin_of("3356 {7,5}") == "{5,7}"
    assert origin_of(None) is None
    assert origin_of("") is None


@pytest.mark.parametrize(
    ("strategy", "signature"),
    [
        ("upstream", "6939 42"),
        ("origin", "42"),
        ("path", "3356 6939 42"),
        ("nexthop", "192.0.2.254"),
        ("community", "6939 42"),  # no mapped community: falls back to upstream
    ],
)
def test_strategies(strategy, signature):
    sig = site_signature("3356 3356 6939 42 42 42", "192.0.2.254", ["3356:1"], strategy, SiteMap())
    assert sig == signature


def test_single_as_path_and_no_route():
    assert site_signature("42 42", None, [], "upstream", SiteMap()) == "42 42"
    assert site_signature(None, "192.0.2.1", [], "nexthop", SiteMap()) is None
    assert site_signature("", "192.0.2.1", [], "upstream", SiteMap()) == LOCAL_SIGNATURE


def test_as_set_origin_signature():
    assert site_signature("174 {7,5}", None, [], "upstream", SiteMap()) == "174 {5,7}"
    assert site_signature("174 {7,5}", None, [], "origin", SiteMap()) == "{5,7}"


def test_community_strategy_takes_first_mapped_community_of_route(site_map):
    communities = ["3356:5", "64511:200", "64511:100"]
    sig = site_signature("1 64511", None, communities, "community", site_map)
    assert sig == "64511:200"
    assert site_name(sig, "community", site_map) == "LHR"


def test_site_names(site_map):
    assert site_name("64501 64511", "upstream", site_map) == "AMS"
    assert site_name("64502 64511", "upstream", site_map) == "64502 64511"
    assert site_name(None, "upstream", site_map) is None


def test_as_path_tokens_without_segments_are_the_char_by_char_reading() -> None:
    """A path without a bracketed segment is split at white space at once; a segment appended sends the
    same text through the reading a character at a time, which must give the same tokens before it."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from anystab.sites import _tokens

    text = st.text(alphabet=st.sampled_from([*"0123 9\t\n\u00a0\u2003\u3000}),x"]), max_size=30)

    @settings(max_examples=500, deadline=None)
    @given(text)
    def check(path: str) -> None:
        assert _tokens(path) == _tokens(path + " {1}")[:-1]

    check()
