"""No import cycles among the modules of ``stream`` and ``schemas``.

A cycle works or breaks depending on which module is imported first, and it makes
every module on it depend on all the others. Only imports run at import time count:
those at module level (inside ``if``/``try`` too) and in class bodies, not those in
functions or under ``if TYPE_CHECKING:``.
"""

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("stream", "schemas")


def _modules() -> dict[str, Path]:
    modules: dict[str, Path] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            modules[".".join(parts)] = path
    return modules


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _import_time_statements(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    for statement in body:
        yield statement
        if isinstance(statement, ast.If):
            if not _is_type_checking(statement.test):
                yield from _import_time_statements(statement.body)
            yield from _import_time_statements(statement.orelse)
        elif isinstance(statement, ast.Try):
            for block in (statement.body, statement.orelse, statement.finalbody):
                yield from _import_time_statements(block)
            for handler in statement.handlers:
                yield from _import_time_statements(handler.body)
        elif isinstance(statement, (ast.With, ast.ClassDef)):
            yield from _import_time_statements(statement.body)


def _imported(module: str, path: Path, known: set[str]) -> set[str]:
    """The modules of ``known`` that ``module`` imports when it is imported."""
    is_package = path.name == "__init__.py"
    found: set[str] = set()
    for statement in _import_time_statements(ast.parse(path.read_text(), str(path)).body):
        if isinstance(statement, ast.Import):
            found.update(alias.name for alias in statement.names)
        elif isinstance(statement, ast.ImportFrom):
            base = statement.module or ""
            if statement.level:
                anchor = module.split(".")
                anchor = anchor[: len(anchor) - statement.level + (1 if is_package else 0)]
                base = ".".join(anchor + ([base] if base else []))
            # ``from package import submodule`` needs the submodule, not the package's own names
            submodules = {f"{base}.{alias.name}" for alias in statement.names} & known
            found.update(submodules)
            if len(submodules) < len(statement.names):
                found.add(base)
    # importing a.b.c runs a/__init__ and a/b/__init__ first, unless they are the
    # importer's own packages (those are already being imported when it runs)
    own = {".".join(module.split(".")[:depth]) for depth in range(1, module.count(".") + 1)}
    for name in list(found):
        parts = name.split(".")
        found.update(".".join(parts[:depth]) for depth in range(1, len(parts)))
    return {name for name in found if name in known and name != module and name not in own}


def import_graph() -> dict[str, set[str]]:
    modules = _modules()
    known = set(modules)
    return {module: _imported(module, path, known) for module, path in modules.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component: list[str] = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def _path(graph: dict[str, set[str]], component: list[str]) -> list[str]:
    """One concrete circle through the component, for the failure message."""
    members, start = set(component), component[0]
    trail, seen = [start], {start}
    while True:
        following = sorted(graph[trail[-1]] & members)
        if start in following and len(trail) > 1:
            return [*trail, start]
        step = next((m for m in following if m not in seen), None)
        if step is None:
            return [*trail, following[0]] if following else trail
        trail.append(step)
        seen.add(step)


def test_the_graph_sees_the_imports() -> None:
    graph = import_graph()
    assert "stream.store.rows" in graph["stream.reports.sources"]
    assert "stream.reports.catalog" in graph["stream.reports"]
    assert "stream.worker.app" not in graph["stream.ingest.agent"]  # only under TYPE_CHECKING
    assert "stream.pricing.genai" in graph["stream.pricing.book"]  # from stream.pricing import genai
    assert "stream.pricing" not in graph["stream.pricing.book"]
    assert "stream.budgets" in graph["stream.reports.run"]  # runs stream/budgets/__init__ first


def test_cycles_are_found() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c"]]
    assert _path(graph, ["a", "b", "c"]) == ["a", "b", "c", "a"]


def test_no_import_cycles() -> None:
    graph = import_graph()
    found = cycles(graph)
    assert not found, "import cycles:\n" + "\n".join(" -> ".join(_path(graph, c)) for c in found)
