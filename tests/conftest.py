"""Shared test fixtures: where ``../shared`` is, and skipping cleanly when it is absent."""
from __future__ import annotations

import warnings
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
FIXTURES = SHARED / "fixtures" / "omar-rq"


def shared_or_skip(*parts: str) -> Path:
    """Path under ``../shared``; skips the test (saying why) when it is absent."""
    p = SHARED.joinpath(*parts)
    if not p.exists():
        pytest.skip(f"{p} is absent: the team's shared specs/fixtures (../shared beside the checkout) are not here")
    return p


@pytest.fixture
def shared_dir() -> Path:
    return shared_or_skip()


@pytest.fixture(autouse=True)
def _quiet_known_warnings():
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*Conformer.patch_size is deprecated.*")
        yield
