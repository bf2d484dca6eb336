"""Where the tests find the shared data files, and what a missing one does to a test."""

import pytest
from django.conf import settings

from tests.shared_data import REQUIRE_SHARED_DATA, SHARED_DATA, shared_file


def test_the_shared_data_is_found_beside_the_project():
    assert settings.BASE_DIR.parent / "shared" / "data" == SHARED_DATA


def test_a_missing_file_skips_the_test(monkeypatch):
    monkeypatch.delenv(REQUIRE_SHARED_DATA, raising=False)

    with pytest.raises(pytest.skip.Exception) as skipped:
        shared_file("no_such_file.csv")

    assert str(skipped.value) == (
        f"{SHARED_DATA / 'no_such_file.csv'} is missing: the shared test data belongs in "
        "../shared/data"
    )


def test_a_missing_file_fails_the_test_where_the_data_is_required(monkeypatch):
    monkeypatch.setenv(REQUIRE_SHARED_DATA, "1")

    with pytest.raises(pytest.fail.Exception) as failed:
        shared_file("no_such_file.csv")

    assert str(failed.value) == (
        f"MARKETBASE_REQUIRE_SHARED_DATA=1 but {SHARED_DATA / 'no_such_file.csv'} is missing: "
        "the shared test data belongs in ../shared/data"
    )
