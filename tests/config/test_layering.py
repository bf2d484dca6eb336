"""``python -m config.layering`` (run by ``make lint``): no model looked up upward by name, no
migration importing project code."""

from pathlib import Path

from config import layering


def _write(root: Path, relative: str, text: str) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_the_project_has_no_finding():
    assert list(layering.upward_lookups()) == []
    assert list(layering.migration_imports()) == []
    assert layering.main() == 0


def test_a_model_looked_up_upward_by_name_is_found(tmp_path):
    # Given privacy code reaching the customers app's model by name, and customers reaching down
    _write(tmp_path, "privacy/consent/selectors.py", 'apps.get_model("customers", "Customer")\n')
    _write(tmp_path, "customers/services.py", 'apps.get_model("privacy.Team")\n')

    # Then only the upward one is reported
    assert [
        (str(found.path.relative_to(tmp_path)), found.line, found.target)
        for found in layering.upward_lookups(tmp_path)
    ] == [("privacy/consent/selectors.py", 1, "customers")]


def test_a_migration_importing_project_code_or_another_migration_is_found(tmp_path):
    # Given migrations importing the field path Django writes, a model module, another
    # migration by import_module, and a service
    _write(
        tmp_path,
        "privacy/migrations/0002_second.py",
        "import privacy.fields\n"
        "from importlib import import_module\n"
        "from django.db import migrations\n"
        'previous = import_module("privacy.migrations.0001_first").SQL\n',
    )
    _write(
        tmp_path,
        "customers/migrations/0002_second.py",
        "import customers.models\nfrom privacy.core.processing import PERSONAL_DATA\n",
    )

    # Then the other migration and the service are reported, not what Django needs
    assert [
        (str(found.path.relative_to(tmp_path)), found.line, found.module)
        for found in layering.migration_imports(tmp_path)
    ] == [
        ("privacy/migrations/0002_second.py", 4, "privacy.migrations.0001_first"),
        ("customers/migrations/0002_second.py", 2, "privacy.core.processing"),
    ]
