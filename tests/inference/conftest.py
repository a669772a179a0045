"""Fixtures for the inference tests: the model weights the extension ships."""

import pytest

from inference import neural
from inference.errors import ModelError


@pytest.fixture(scope="session")
def shipped_weights():
    """Both engines' models open from weights/; a test that needs them fails (never skips) without them."""
    try:
        return neural.load_engine("diffusion")
    except ModelError as exc:
        pytest.fail(f"these tests need the shipped model weights: {exc}")
