"""Site signatures: which anycast site a route leads to, told from the route's attributes.

Steps:

1. Split the AS path into tokens (bgpdump text: ASNs separated by spaces, an AS_SET written ``{a,b}``,
   a confederation segment in parentheses or brackets, kept as one token).
2. Collapse prepending: consecutive equal tokens become one. An AS_SET token is normalised to its members
   sorted numerically, ``{a,b}``, so equal sets compare equal however the collector ordered them.
3. Under the chosen strategy, build the signature text:

   - ``upstream`` (default): ``"NEIGHBOUR ORIGIN"``, the last two tokens; a path of one AS gives
     ``"ORIGIN ORIGIN"``.
   - ``origin``: the origin token (an AS_SET origin is the sorted set).
   - ``path``: the collapsed path, tokens joined by single spaces.
   - ``community``: the first community of the route (in the route's order) that the site map's
     ``communities`` table names; routes with none of them fall back to ``upstream``.
   - ``nexthop``: the next-hop address.

4. The site is the site map's name for the signature (for ``community`` signatures: the name the
   ``communities`` table gives), or else the signature itself.

A route with an empty AS path (a route the peer originates itself, or an iBGP peer) has the signature
:data:`LOCAL_SIGNATURE` under the path-based strategies. No route: no signature (``None``).
"""

from __future__ import annotations

from collections.abc import Sequence

from anystab.params import SiteMap, SiteStrategy

LOCAL_SIGNATURE = "local"
_OPEN = {"{": "}", "(": ")", "[": "]"}


def _tokens(as_path: str) -> list[str]:
    """Split bgpdump AS path text into tokens; a bracketed segment stays one token."""
    if not any(ch in as_path for ch in _OPEN):  # no segment: the runs between white space
        return as_path.split()
    tokens: list[str] = []
    i, n = 0, len(as_path)
    while i < n:
        ch = as_path[i]
        if ch.isspace():
            i += 1
        elif ch in _OPEN:
            close = as_path.find(_OPEN[ch], i)
            close = n - 1 if close < 0 else close
            tokens.append(_normalise_segment(as_path[i : close + 1]))
            i = close + 1
        else:
            j = i
            while j < n and not as_path[j].isspace() and as_path[j] not in _OPEN:
                j += 1
            tokens.append(as_path[i:j])
            i = j
    return tokens


def _normalise_segment(segment: str) -> str:
    """``{3, 1,2}`` -> ``{1,2,3}``; other bracketed segments keep their order, single-spaced."""
    opener, body = segment[0], segment[1:-1] if segment[-1] == _OPEN[segment[0]] else segment[1:]
    members = [m for m in body.replace(",", " ").split() if m]
    if opener == "{":
        members = sorted(set(members), key=lambda m: (not m.isdigit(), int(m) if m.isdigit() else 0, m))
        return "{" + ",".join(members) + "}"
    return opener + " ".join(members) + _OPEN[opener]


def collapse_prepending(as_path: str) -> list[str]:
    """The AS path's tokens with consecutive repeats removed; an AS_SET stays one ``{a,b}`` token."""
    collapsed: list[str] = []
    for token in _tokens(as_path):
        if not collapsed or collapsed[-1] != token:
            collapsed.append(token)
    return collapsed


def origin_of(as_path: str | None) -> str | None:
    """The origin AS (last token after collapsing); an AS_SET origin is ``{a,b}`` sorted; None if no path."""
    if as_path is None:
        return None
    tokens = collapse_prepending(as_path)
    return tokens[-1] if tokens else None


def _upstream(tokens: list[str]) -> str:
    if not tokens:
        return LOCAL_SIGNATURE
    neighbour = tokens[-2] if len(tokens) >= 2 else tokens[-1]
    return f"{neighbour} {tokens[-1]}"


def site_signature(
    as_path: str | None,
    next_hop: str | None,
    communities: Sequence[str],
    strategy: SiteStrategy,
    site_map: SiteMap,
) -> str | None:
    """The signature of a route under ``strategy``; None when there is no route (``as_path`` is None)."""
    if as_path is None:
        return None
    if strategy == "nexthop":
        return next_hop or LOCAL_SIGNATURE
    if strategy == "community":
        for community in communities:
            if community in site_map.communities:
                return community
    tokens = collapse_prepending(as_path)
    if strategy == "origin":
        return tokens[-1] if tokens else LOCAL_SIGNATURE
    if strategy == "path":
        return " ".join(tokens) if tokens else LOCAL_SIGNATURE
    return _upstream(tokens)


def site_name(signature: str | None, strategy: SiteStrategy, site_map: SiteMap) -> str | None:
    """The site a signature stands for: the site map's name for it, else the signature itself."""
    if signature is None:
        return None
    if strategy == "community" and signature in site_map.communities:
        return site_map.communities[signature]
    return site_map.name(signature)
