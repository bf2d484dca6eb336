"""How the project's modules import each other: no cycle, no private name of another module.

Imports inside functions count too: one there to break a cycle hides the cycle rather than
removing it. The one kind of cycle allowed is a service queueing a Celery job of its app from
inside a function (``from customers.tasks import ...``), the task module calling the service
in turn: both ends are the same job, split so the worker runs it.
"""

import ast
from collections.abc import Iterator
from pathlib import Path

from django.conf import settings

APPS = ("privacy", "customers", "segments", "campaigns", "config")


def project_modules() -> dict[str, Path]:
    modules = {}
    for app in APPS:
        for path in (settings.BASE_DIR / app).rglob("*.py"):
            parts = path.relative_to(settings.BASE_DIR).with_suffix("").parts
            if "migrations" in parts:
                continue
            name = ".".join(parts).removesuffix(".__init__")
            modules[name] = path
    return modules


def imported_names(tree: ast.Module) -> Iterator[tuple[str, str | None, bool]]:
    """(module, name imported from it or None, whether the import is at the top level)."""
    top_level = {id(node) for node in tree.body}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, None, id(node) in top_level
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                yield node.module, alias.name, id(node) in top_level


def import_graph() -> tuple[dict[str, set[str]], list[str]]:
    """Which project module imports which, and every import of another module's private name."""
    modules = project_modules()

    def owner(dotted: str) -> str | None:
        while dotted and dotted not in modules:
            dotted = dotted.rpartition(".")[0]
        return dotted or None

    graph: dict[str, set[str]] = {name: set() for name in modules}
    private = []
    for name, path in modules.items():
        for module, imported, top_level in imported_names(ast.parse(path.read_text())):
            target = owner(f"{module}.{imported}" if imported else module)
            if target is None or target == name:
                continue
            if imported and imported.startswith("_") and not imported.startswith("__"):
                private.append(f"{name} imports {module}.{imported}")
            if not top_level and target.endswith(".tasks"):
                continue
            graph[name].add(target)
    return graph, private


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The groups of modules that import each other, directly or round a loop (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while not group or group[-1] != node:
                group.append(stack.pop())
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_two_modules_import_each_other():
    graph, _private = import_graph()

    assert cycles(graph) == []


def test_no_module_imports_a_private_name_of_another():
    _graph, private = import_graph()

    assert private == []


def test_a_cycle_is_found_through_an_import_inside_a_function():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    tree = ast.parse("import x\n\ndef f():\n    from y import _z\n")
    assert list(imported_names(tree)) == [("x", None, True), ("y", "_z", False)]
