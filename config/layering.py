"""The layering check that import-linter cannot make: a model looked up by name, upward.

``apps.get_model("customers", "Customer")`` from privacy code is an upward import in disguise:
the lower layer then depends on a higher app's model and fields without any import showing it.
Lower layers offer a registry (the subject directory, the exporter and eraser registries) that the
higher app fills in its ``AppConfig.ready()`` instead. Migrations are exempt: their historical
``apps.get_model`` is how a migration reads another app's tables as they were.

Run by ``make lint`` as ``python -m config.layering``; prints each offending call with its file
and line, and exits 1 when there is one.
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


@dataclass(frozen=True)
class UpwardLookup:
    path: Path
    line: int
    caller: str
    target: str

    def __str__(self) -> str:
        relative = self.path.relative_to(PROJECT_ROOT)
        return (
            f"{relative}:{self.line}: {self.caller} looks up a model of {self.target}, a higher "
            "layer, by name; register it from the higher app instead"
        )


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
        for path in sorted((root / app).rglob("*.py")):
            if "migrations" in path.relative_to(root).parts:
                continue
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            for node in ast.walk(tree):
                if not isinstance(node, ast.Call):
                    continue
                target = _looked_up_app(node)
                if target in LAYERS and LAYERS.index(target) > LAYERS.index(app):
                    yield UpwardLookup(path=path, line=node.lineno, caller=app, target=target)


def main() -> int:
    found = list(upward_lookups())
    for lookup in found:
        print(lookup)
    if found:
        print(f"{len(found)} upward model look-up(s)")
        return 1
    print("No upward model look-ups")
    return 0


if __name__ == "__main__":
    sys.exit(main())
