"""The record of processing covers every field of every model of the project, and nothing else."""

from pathlib import Path

from django.apps import apps
from django.conf import settings

from privacy.core.fields import EncryptedTextField
from privacy.core.processing import (
    NOT_PERSONAL,
    PERSONAL_DATA,
    covered_apps,
    model_fields,
    register_problems,
    registered_models,
)


def test_every_field_of_every_model_is_registered_and_nothing_else():
    problems = register_problems()
    assert problems == [], "Register these in the owning package's registrations.py:\n" + "\n".join(
        problems
    )


def test_every_app_of_the_project_with_models_is_covered():
    # Given the installed apps whose code lives in this repository (the tests' own app aside)
    # and that have models
    root = Path(settings.BASE_DIR)
    ours = {
        config.label
        for config in apps.get_app_configs()
        if Path(config.path).is_relative_to(root)
        and not Path(config.path).is_relative_to(root / "tests")
        and "site-packages" not in Path(config.path).parts
        and list(config.get_models(include_auto_created=True))
    }

    # Then each of them registered its entries, so the register walks it, and the test-only app
    # is not among them
    assert set(covered_apps()) == ours == {"privacy", "customers"}
    assert "access_app" not in {model._meta.app_label for model in registered_models()}


def test_encrypted_fields_are_registered_as_personal_data():
    encrypted = [
        (model._meta.label, field.name)
        for model in registered_models()
        for field in model_fields(model)
        if isinstance(field, EncryptedTextField)
    ]
    assert ("customers.Customer", "email") in encrypted
    assert [
        (label, name) for label, name in encrypted if PERSONAL_DATA[label][name] == NOT_PERSONAL
    ] == []


def test_a_new_field_and_a_removed_one_are_both_named():
    # Given a register that forgot Customer.email and still lists a field that is gone
    customer = dict(PERSONAL_DATA["customers.Customer"])
    del customer["email"]
    customer["fax"] = ("contact", "customer_lifetime")
    register = {**PERSONAL_DATA, "customers.Customer": customer}

    # Then both are reported
    assert register_problems(register) == [
        "customers.Customer.email: not registered",
        "customers.Customer.fax: registered but no such field",
    ]


def test_categories_and_retention_classes_must_be_known_and_agree():
    team = {**PERSONAL_DATA["privacy.Team"], "slug": ("contact", "not_personal")}
    event = {**PERSONAL_DATA["customers.Event"], "type": ("hobby", "forever")}
    register = {**PERSONAL_DATA, "privacy.Team": team, "customers.Event": event}

    assert register_problems(register) == [
        "privacy.Team.slug: 'contact' with 'not_personal': only data that is not personal is "
        "kept as 'not_personal'",
        "customers.Event.type: unknown category 'hobby'",
        "customers.Event.type: unknown retention class 'forever'",
    ]
