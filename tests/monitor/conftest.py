import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from monitor_support import make_archive  # noqa: E402


@pytest.fixture(scope="session")
def full_archive(tmp_path_factory):
    """(folder, files in arrival order) of the generated scenario's whole archive."""
    folder = tmp_path_factory.mktemp("full-archive")
    return folder, make_archive(folder)
