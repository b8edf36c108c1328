"""The vendored spec must be the workplace's contract, byte for byte."""

import hashlib
from pathlib import Path

import pytest

from bot.sandbox.vrchat.validation import DEFAULT_SPEC_PATH

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "vrchat-openapi" / "openapi.yaml"


def test_vendored_spec_matches_shared_copy() -> None:
    if not SHARED.exists():
        pytest.skip(f"no shared spec at {SHARED} to compare with")
    vendored = hashlib.sha256(DEFAULT_SPEC_PATH.read_bytes()).hexdigest()
    shared = hashlib.sha256(SHARED.read_bytes()).hexdigest()
    assert vendored == shared, "bot/sandbox/vrchat/spec/openapi.yaml drifted from ../shared; copy it again"
