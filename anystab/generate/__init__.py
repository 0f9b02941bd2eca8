"""Generated BGP data: an MRT writer, a scenario simulator with expected results, and the sample archive.

- :mod:`anystab.generate.mrtwrite`: RFC 6396 / RFC 8050 records (TABLE_DUMP_V2, BGP4MP, BGP4MP_ET).
- :mod:`anystab.generate.scenario`: anycast sites, collectors and a timed script -> archive + expectations.
- :mod:`anystab.generate.sample`: the committed sample in ``data/`` (``python -m anystab.generate data/``).
"""

from __future__ import annotations

from anystab.generate.sample import sample_scenario, write_sample
from anystab.generate.scenario import Scenario, expected_events, simulate, write_archive

__all__ = ["Scenario", "expected_events", "sample_scenario", "simulate", "write_archive", "write_sample"]
