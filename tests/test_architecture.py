"""The layers of the code (README "Architecture"): every import of the project's own modules
points down, never up, and no module reaches itself through its imports.

Imports are read from the source (ast), including those under TYPE_CHECKING and inside
functions: a cycle that only type hints or a late import close is still a cycle in the design.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PACKAGES = ("bot", "handlers", "db", "scheduler", "nlp")

# Each layer, and the layers its modules may import (besides their own). The first layer
# whose prefix matches a module is its layer, so the longer prefixes come first.
LAYERS: dict[str, frozenset[str]] = {
    "bot.app": frozenset(
        {"bot.demo", "handlers", "bot.usecases", "bot", "bot.views", "db", "scheduler", "nlp"}
        | {"bot.sandbox"}
    ),
    "bot.demo": frozenset(
        {"bot.app", "handlers", "bot.usecases", "bot", "bot.views", "db", "scheduler", "nlp"}
        | {"bot.sandbox"}
    ),
    "bot.__main__": frozenset({"bot.app"}),
    # Handlers may name the types and codes the use cases return; they open no session.
    "handlers": frozenset({"bot.usecases", "bot", "bot.views", "db", "scheduler", "nlp"}),
    "bot.usecases": frozenset({"bot", "bot.views", "db", "scheduler", "nlp"}),
    "bot.sandbox": frozenset(),
    # Views word what the layers below return (rows, result codes); they call nothing.
    "bot.views": frozenset({"db", "scheduler", "nlp"}),
    # The foundation the use cases and handlers stand on: settings, services, clock, logs.
    "bot": frozenset({"bot.views", "db", "scheduler", "nlp"}),
    "db": frozenset({"scheduler", "nlp"}),
    "scheduler": frozenset(),
    "nlp": frozenset(),
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _sources() -> dict[str, Path]:
    return {
        _module_name(path): path
        for package in PACKAGES
        for path in sorted((REPO / package).rglob("*.py"))
    }


MODULES = _sources()


def _resolve(name: str) -> str | None:
    """The project module an imported name lives in (a module, or a package's __init__)."""
    while name:
        if name in MODULES:
            return name
        name = name.rpartition(".")[0]
    return None


def _imports(module: str, path: Path) -> Iterator[tuple[str, int]]:
    """The project modules `module` imports, with the line of each import."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                target = _resolve(alias.name)
                if target is not None:
                    yield target, node.lineno
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                # `from bot.views import texts` imports the module bot.views.texts.
                target = _resolve(f"{base}.{alias.name}") or _resolve(base)
                if target is not None:
                    yield target, node.lineno


GRAPH: dict[str, set[str]] = {}
LINES: dict[tuple[str, str], int] = {}
for _module, _path in MODULES.items():
    GRAPH[_module] = set()
    for _target, _line in _imports(_module, _path):
        if _target != _module:
            GRAPH[_module].add(_target)
            LINES.setdefault((_module, _target), _line)


def layer_of(module: str) -> str:
    for prefix in LAYERS:
        if module == prefix or module.startswith(prefix + "."):
            return prefix
    raise AssertionError(f"{module} belongs to no layer: add it to LAYERS")


def _allowed(source_layer: str, target: str) -> bool:
    target_layer = layer_of(target)
    if target_layer == source_layer:
        return True
    allowed = LAYERS[source_layer]
    return target_layer in allowed or any(
        target == entry or target.startswith(entry + ".") for entry in allowed
    )


def test_every_module_has_a_layer() -> None:
    for module in MODULES:
        layer_of(module)


def test_imports_point_down() -> None:
    upward = [
        f"{MODULES[source].relative_to(REPO)}:{LINES[source, target]}: {source} "
        f"({layer_of(source)}) imports {target} ({layer_of(target)})"
        for source, targets in GRAPH.items()
        for target in sorted(targets)
        if not _allowed(layer_of(source), target)
    ]
    assert not upward, "imports against the layers:\n" + "\n".join(upward)


def _cycles() -> list[list[str]]:
    """Each strongly connected group of modules (Tarjan), as one cycle through it."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(GRAPH[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for module in sorted(GRAPH):
        if module not in index:
            visit(module)
    return [_one_cycle(group) for group in groups]


def _one_cycle(group: list[str]) -> list[str]:
    """A concrete path start → … → start inside a strongly connected group."""
    members = set(group)
    start = group[0]
    paths = {start: [start]}
    frontier = [start]
    while frontier:
        node = frontier.pop(0)
        for target in sorted(GRAPH[node] & members):
            if target == start:
                return [*paths[node], start]
            if target not in paths:
                paths[target] = [*paths[node], target]
                frontier.append(target)
    raise AssertionError("a strongly connected group always holds a cycle")


def test_no_import_cycles() -> None:
    cycles = [
        " → ".join(
            f"{module} (line {LINES[module, cycle[i + 1]]})" if i + 1 < len(cycle) else module
            for i, module in enumerate(cycle)
        )
        for cycle in _cycles()
    ]
    assert not cycles, "import cycles:\n" + "\n".join(cycles)


def test_handlers_open_no_database_session() -> None:
    """Handlers parse the update, call a use case and render the reply (STYLE 2)."""
    opening = [
        f"{path.relative_to(REPO)}:{node.lineno}"
        for module, path in MODULES.items()
        if layer_of(module) == "handlers"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "session"
    ]
    assert not opening, "handlers opening a database session:\n" + "\n".join(opening)


@pytest.mark.parametrize(
    ("graph", "expected"),
    [
        ({"a": {"b"}, "b": {"a"}}, [["a", "b", "a"]]),
        ({"a": {"b"}, "b": {"c"}, "c": set()}, []),
        ({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}, [["a", "b", "c", "a"]]),
    ],
)
def test_the_cycle_finder_finds_cycles(
    graph: dict[str, set[str]], expected: list[list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(f"{__name__}.GRAPH", graph)
    assert _cycles() == expected
