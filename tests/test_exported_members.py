import anystab


def test_public_api_is_pinned():
    assert sorted(anystab.__all__) == sorted(
        [
            "SCHEMA_VERSION",
            "TABLES",
            "AnalysisParams",
            "AnalysisRequest",
            "AnalysisResult",
            "AnystabError",
            "BadInputError",
            "ConfigError",
            "Service",
            "SiteMap",
            "SourceUnavailableError",
            "Target",
            "TargetSet",
            "__version__",
            "analyze",
            "load_service",
            "load_site_map",
            "make_target",
            "run_stages",
            "target_set",
        ]
    )
    for name in anystab.__all__:
        assert hasattr(anystab, name), name


def test_error_tree():
    for cls in (anystab.BadInputError, anystab.ConfigError, anystab.SourceUnavailableError):
        assert issubclass(cls, anystab.AnystabError)
