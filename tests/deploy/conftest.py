"""`make package` once per test session: the deploy tests read the same dist/."""

from __future__ import annotations

from pathlib import Path

import pytest

from deploy.package import package


@pytest.fixture(scope="session")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("dist")
    package(target)
    return target
