"""The pipeline as a whole: results do not depend on how the sources are named or ordered."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from anystab import schemas
from anystab.params import AnalysisParams
from anystab.pipeline import AnalysisRequest, analyze
from anystab.service import load_service
from anystab.targets import target_set

DATA = Path(__file__).resolve().parent.parent / "data"


@pytest.fixture(scope="module")
def params() -> AnalysisParams:
    service = load_service(DATA / "service.toml")
    return AnalysisParams(targets=target_set(service.targets), site_map=service.site_map)


def _tables(sources: list[str], params: AnalysisParams, jobs: int = 1) -> dict[str, pd.DataFrame]:
    result = analyze(AnalysisRequest(sources=tuple(sources), params=params, jobs=jobs))
    return {name: result.table(name).to_pandas() for name in schemas.TABLES if name not in ("files",)}


def test_order_of_sources_does_not_matter(params):
    files = sorted(str(p) for p in DATA.rglob("*") if p.suffix in (".gz", ".bz2"))
    forward = _tables(files, params)
    backward = _tables(files[::-1], params)
    folder = _tables([str(DATA)], params, jobs=2)
    for name, table in forward.items():
        pd.testing.assert_frame_equal(table, backward[name], obj=name)
        pd.testing.assert_frame_equal(table, folder[name], obj=name)


def test_every_table_matches_its_schema(params):
    result = analyze(AnalysisRequest(sources=(str(DATA),), params=params, jobs=1))
    for name, schema in schemas.TABLES.items():
        assert result.table(name).schema.equals(schema, check_metadata=False), name
    assert set(result.tables) == set(schemas.TABLES)
