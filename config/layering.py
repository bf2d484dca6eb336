"""The layering check that import-linter cannot make: a model looked up by name, upward.

``apps.get_model("customers", "Customer")`` from privacy code is an upward import in disguise:
the lower layer then depends on a higher app's model and fields without any import showing it.
Lower layers offer a registry (the subject directory, the exporter and eraser registries) that the
higher app fills in its ``AppConfig.ready()`` instead (``docs/registries.md``). Migrations are
exempt: their historical ``apps.get_model`` is how a migration reads another app's tables as they
were.

Migrations are checked for the opposite: a migration must do what it did the day it ran, so it
imports nothing of the project (nor another migration, by ``import`` or ``import_module``) but
the modules Django's migration files must name (``MIGRATION_IMPORTS``); SQL and data are written
out in the migration itself.

Run by ``make lint`` as ``python -m config.layering``; prints each finding with its file and line,
and exits 1 when there is one.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent

# Bottom to top, as the import-linter contract in pyproject.toml lists them (top first there).
LAYERS = ("privacy", "customers", "segments", "campaigns", "config")
# What migrations may import of the project: the paths Django writes into them and must import.
MIGRATION_IMPORTS = {
    # EncryptedTextField, by the path older migrations name it.
    "privacy.fields",
    # A FileField's upload_to function, which Django references by its importable path.
    "customers.models",
}


def _location(path: Path, line: int) -> str:
    return f"{path.relative_to(PROJECT_ROOT)}:{line}"


@dataclass(frozen=True)
class UpwardLookup:
    path: Path
    line: int
    caller: str
    target: str

    def __str__(self) -> str:
        return (
            f"{_location(self.path, self.line)}: {self.caller} looks up a model of {self.target}, "
            "a higher layer, by name; register it from the higher app instead"
        )


@dataclass(frozen=True)
class MigrationImport:
    path: Path
    line: int
    module: str

    def __str__(self) -> str:
        return (
            f"{_location(self.path, self.line)}: a migration imports {self.module}; write what "
            "it needs (SQL, data) out in it"
        )


def _nodes(paths: Iterator[Path]) -> Iterator[tuple[Path, ast.AST]]:
    """Every syntax node of every file in ``paths``, with its file."""
    for path in paths:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            yield path, node


def _looked_up_app(call: ast.Call) -> str | None:
    """The app label of ``get_model("label", "Model")`` or ``get_model("label.Model")``."""
    function = call.func
    name = function.attr if isinstance(function, ast.Attribute) else getattr(function, "id", "")
    if name != "get_model" or not call.args:
        return None
    first = call.args[0]
    if not isinstance(first, ast.Constant) or not isinstance(first.value, str):
        return None
    return first.value.split(".", 1)[0]


def upward_lookups(root: Path = PROJECT_ROOT) -> Iterator[UpwardLookup]:
    for app in LAYERS:
        sources = (
            path
            for path in sorted((root / app).rglob("*.py"))
            if "migrations" not in path.relative_to(root).parts
        )
        for path, node in _nodes(sources):
            target = _looked_up_app(node) if isinstance(node, ast.Call) else None
            if target in LAYERS and LAYERS.index(target) > LAYERS.index(app):
                yield UpwardLookup(path=path, line=node.lineno, caller=app, target=target)


def _imported_modules(node: ast.AST) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
        return [node.module]
    if (
        isinstance(node, ast.Call)
        and (getattr(node.func, "attr", None) or getattr(node.func, "id", None)) == "import_module"
        and node.args
        and isinstance(node.args[0], ast.Constant)
        and isinstance(node.args[0].value, str)
    ):
        return [node.args[0].value]
    return []


def migration_imports(root: Path = PROJECT_ROOT) -> Iterator[MigrationImport]:
    for app in LAYERS:
        for path, node in _nodes(iter(sorted((root / app).glob("migrations/*.py")))):
            for module in _imported_modules(node):
                if module.split(".", 1)[0] in LAYERS and module not in MIGRATION_IMPORTS:
                    yield MigrationImport(path=path, line=node.lineno, module=module)


def main() -> int:
    found = [*upward_lookups(), *migration_imports()]
    for finding in found:
        print(finding)
    if found:
        print(f"{len(found)} layering finding(s)")
        return 1
    print("No upward model look-ups, no migration importing project code")
    return 0


if __name__ == "__main__":
    sys.exit(main())
