"""Fixtures of the format conformance suite. The real samples are read in place from
../shared/realdata (never copied into the repository; licences in its README)."""

from pathlib import Path

import pytest

from apps.ingestion.formats import FeedContext

REALDATA = Path(__file__).resolve().parents[4] / "shared" / "realdata"


@pytest.fixture
def realdata() -> Path:
    if not REALDATA.is_dir():
        pytest.skip("../shared/realdata is not beside the repository")
    return REALDATA


@pytest.fixture
def ctx() -> FeedContext:
    """The standard code tables, no overrides, times without a zone read as UTC."""
    return FeedContext.standard(slug="test-feed", system="tms")
