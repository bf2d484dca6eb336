"""Registries: keyed, idempotent, listed in the order of registration; start-up fills them once."""

import pytest
from django.apps import apps

from customers.services.merge import merge_hooks
from privacy.core import processing, roles
from privacy.core.crypto import reindexers
from privacy.core.db_roles import db_restrictions
from privacy.core.registry import Registry, RegistryConflict
from privacy.core.scan import scan_kept
from privacy.core.subjects import register_subject_directory, subject_directories
from privacy.erasure.services.erasure import erasers
from privacy.requests.package.registry import exporters
from privacy.retention.services import purgers

OUR_APPS = ("privacy", "customers", "segments", "campaigns", "config")


def test_a_registry_lists_what_is_registered_in_order_and_the_same_value_twice_once():
    registry: Registry[int] = Registry("numbers")

    registry.register("two", 2)
    registry.register("one", 1)
    registry.register("two", 2)

    assert dict(registry) == {"two": 2, "one": 1}
    assert list(registry) == ["two", "one"]


def test_a_registry_refuses_another_value_under_a_taken_key():
    registry: Registry[int] = Registry("numbers")
    registry.register("two", 2)

    with pytest.raises(RegistryConflict, match="numbers: 'two' is registered already"):
        registry.register("two", 3)
    assert dict(registry) == {"two": 2}


def test_a_registry_cannot_be_written_as_a_dictionary():
    registry: Registry[int] = Registry("numbers")

    with pytest.raises(TypeError):
        registry["two"] = 2  # type: ignore[index]


def _everything_registered():
    return {
        "processing": dict(processing.PERSONAL_DATA),
        "roles": {role: sorted(pairs) for role, pairs in roles.ROLE_PERMISSIONS.items()},
        "db restrictions": db_restrictions(),
        "subject directories": subject_directories(),
        "erasers": erasers(),
        "exporters": exporters(),
        "purgers": purgers(),
        "reindexers": reindexers(),
        "merge hooks": merge_hooks(),
        "kept by the privacy scan": scan_kept(),
    }


def test_starting_the_apps_again_registers_nothing_twice():
    # Given what the apps registered at start-up
    before = _everything_registered()

    # When each of our apps' ready() runs again
    for label in OUR_APPS:
        apps.get_app_config(label).ready()

    # Then every registry holds the same, once (a merge hook registered twice would run twice)
    assert _everything_registered() == before
    assert list(merge_hooks()) == ["privacy.consent"]


def test_a_second_subject_directory_is_refused():
    class Another:
        pass

    with pytest.raises(RegistryConflict, match="subject directory: 'customers'"):
        register_subject_directory("customers", Another())
    assert list(subject_directories()) == ["customers"]
