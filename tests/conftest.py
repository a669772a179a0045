"""Fixtures shared by every test folder: where ../shared/data lives, and how to skip without it."""

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


def shared_data_dir() -> Path:
    """LIPKIT_SHARED_DATA, or ../shared/data beside the checkout."""
    return Path(os.environ.get("LIPKIT_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The shared data folder; tests using it skip, with the reason, when it is absent."""
    path = shared_data_dir()
    if not path.is_dir():
        pytest.skip(f"shared data not found at {path} (set LIPKIT_SHARED_DATA)")
    return path


@pytest.fixture(scope="session")
def shared_data_or_none():
    """The shared data folder, or None when it is absent (for tests that run either way)."""
    path = shared_data_dir()
    return path if path.is_dir() else None
