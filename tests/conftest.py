"""Shared fixtures.

Tests that need ../shared/data skip with a clear reason where it is absent
(a plain clone); CI has it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from propagators.datadir import shared_data_dir


@pytest.fixture(scope="session")
def data_dir() -> Path:
    d = shared_data_dir()
    if d is None:
        pytest.skip(
            "shared data directory not found: set CISLUNAR_DATA_DIR or place ../shared/data "
            "beside the checkout (CI has it)"
        )
    return d
