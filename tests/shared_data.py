"""The data files the tests share with the demos, in ``shared/data/`` beside the project.

A test that needs one skips when it is missing, so the suite runs on a checkout alone. With
``MARKETBASE_REQUIRE_SHARED_DATA=1`` (CI sets it) a missing file fails the test instead, so the
tests on real data cannot be skipped there unnoticed.
"""

import os
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = PROJECT_ROOT.parent / "shared" / "data"
REQUIRE_SHARED_DATA = "MARKETBASE_REQUIRE_SHARED_DATA"


def shared_file(name: str) -> Path:
    """The path of the shared data file ``name``; skips (or fails, see above) when it is missing."""
    path = SHARED_DATA / name
    if not path.is_file():
        reason = f"{path} is missing: the shared test data belongs in ../shared/data"
        if os.environ.get(REQUIRE_SHARED_DATA) == "1":
            pytest.fail(f"{REQUIRE_SHARED_DATA}=1 but {reason}", pytrace=False)
        pytest.skip(reason)
    return path
