import pytest
from support.monitor import make_archive


@pytest.fixture(scope="session")
def full_archive(tmp_path_factory):
    """(folder, files in arrival order) of the generated scenario's whole archive."""
    folder = tmp_path_factory.mktemp("full-archive")
    return folder, make_archive(folder)
