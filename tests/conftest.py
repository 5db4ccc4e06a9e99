"""Shared test fixtures: the ``../shared`` folder (skipping cleanly when it is absent) and quiet known warnings."""
from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from helpers import shared_or_skip


@pytest.fixture
def shared_dir() -> Path:
    return shared_or_skip()


@pytest.fixture(autouse=True)
def _quiet_known_warnings():
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*Conformer.patch_size is deprecated.*")
        yield
