"""The import graph of bot/: no cycles, not even deferred ones, and no production import of the sandbox;
and only the modules that build the services take the whole Store (the rest take a port of it).

Read from the source with `ast`, not by importing: every `import` counts wherever it stands (module
level, inside a function, under `if TYPE_CHECKING:`), because a cycle hidden in a function body is
still a cycle a reader must hold in their head. An edge goes to the module named: `import a.b` is an
edge to `a.b`; `from pkg import x` reads the namespace of `pkg` (its `__init__`), so it is an edge to
`pkg`, and to `pkg.x` as well when `x` is a submodule. So a submodule that imports from its own
package's `__init__` (`from . import sibling` included) while the `__init__` imports it is a cycle:
import siblings by their own module name. The parent packages Python runs on the way to `a.b` are not
edges: that would make every package with re-exports a cycle.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "bot"
# Test and demo scaffolding: the only parts allowed to use the stand-ins.
NON_PRODUCTION = ("bot.sandbox", "bot.demo")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def _imports(name: str, path: Path, known: set[str]) -> Iterator[str]:
    """Every module of `known` that the module `name` (at `path`) imports, anywhere in its body."""
    is_package = path.name == "__init__.py"
    package = name if is_package else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in known:
                    yield alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base_parts = package.split(".")
                base_parts = base_parts[: len(base_parts) - (node.level - 1)]
                base = ".".join([*base_parts, node.module] if node.module else base_parts)
            else:
                base = node.module or ""
            for alias in node.names:
                if base in known:
                    yield base
                if f"{base}.{alias.name}" in known:
                    yield f"{base}.{alias.name}"


def import_graph() -> dict[str, set[str]]:
    modules = _modules()
    known = set(modules)
    return {
        name: {target for target in _imports(name, path, known) if target != name}
        for name, path in modules.items()
    }


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle per strongly connected component of more than one module (Tarjan), each printed as a
    path that returns to where it started."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

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
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return [_a_cycle_through(component, graph) for component in sorted(components)]


def _a_cycle_through(component: list[str], graph: dict[str, set[str]]) -> list[str]:
    """The shortest path from the component's first module back to itself (breadth first)."""
    members = set(component)
    start = component[0]
    came_from: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for target in sorted(graph[node] & members):
                if target == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(came_from[path[-1]])
                    return [start, *reversed(path[:-1]), start] if len(path) > 1 else [start, node, start]
                if target not in came_from:
                    came_from[target] = node
                    following.append(target)
        frontier = following
    raise AssertionError(f"no cycle through {component}")  # Tarjan said there is one


def test_the_graph_is_read_from_every_module():
    graph = import_graph()
    # Sanity: the reader sees imports at module level and package imports.
    assert "bot.vrchat.errors" in graph["bot.vrchat.transport"]
    assert "bot.config" in graph["bot.cli"]
    assert len(graph) > 100


def test_deferred_relative_and_package_imports_are_edges(tmp_path):
    source = tmp_path / "mod.py"
    source.write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from p.q import T\n"
        "def later():\n    from . import sibling\n    import p.r\n"
    )
    known = {"p", "p.q", "p.r", "p.sibling", "p.mod"}
    assert set(_imports("p.mod", source, known)) == {"p.q", "p", "p.sibling", "p.r"}


def test_the_cycle_finder_finds_a_cycle_and_names_it():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c", "a"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycle_in_bot():
    found = cycles(import_graph())
    assert not found, f"{len(found)} import cycle(s) in bot/:\n" + "\n".join(
        " -> ".join(cycle) for cycle in found
    )


def test_production_imports_nothing_from_the_sandbox():
    graph = import_graph()
    offending = sorted(
        f"{name} imports {target}"
        for name, targets in graph.items()
        if not name.startswith(NON_PRODUCTION)
        for target in targets
        if target.startswith("bot.sandbox")
    )
    assert not offending, "production code imports the sandbox:\n" + "\n".join(offending)


# Where the whole Store may be a parameter's type: the store itself and the places that build the
# services from it. Everything else takes the narrow port it uses (bot.store.ports, feature_ports).
STORE_BUILDERS = ("bot.store", "bot.bot", "bot.startup", "bot.wiring", "bot.services.registry")


def _store_names(tree: ast.Module) -> set[str]:
    """The names the module binds to the Store class (`from bot.store import Store as S` included)."""
    return {
        alias.asname or alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module in ("bot.store", "bot.store.store")
        for alias in node.names
        if alias.name == "Store"
    }


def parameters_typed_store(path: Path) -> Iterator[str]:
    """`function(parameter)` for each parameter of a function or method at `path` whose annotation
    names the whole Store (`Store`, `Store | None`, `bot.store.Store`, under an alias too)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names = _store_names(tree) | {"Store"}
    for node in ast.walk(tree):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        arguments = node.args
        for argument in [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]:
            if argument.annotation is None:
                continue
            if _named_in(argument.annotation) & names:
                yield f"{node.name}({argument.arg}) line {argument.lineno}"


def _named_in(annotation: ast.expr) -> set[str]:
    """The names an annotation uses (`a.b.C` names C), inside a string annotation too."""
    named: set[str] = set()
    for node in ast.walk(annotation):
        if isinstance(node, ast.Name):
            named.add(node.id)
        elif isinstance(node, ast.Attribute):
            named.add(node.attr)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            named |= _named_in(ast.parse(node.value, mode="eval").body)
    return named


def test_the_store_parameter_finder_sees_aliases_unions_and_strings(tmp_path):
    source = tmp_path / "mod.py"
    source.write_text(
        "from bot.store import Store as Whole\nimport bot.store\n"
        "class S:\n    def __init__(self, a: Whole, b: 'Store | None', c: int) -> None: ...\n"
        "async def f(*, d: bot.store.Store, e: SimStore) -> None: ...\n"
    )
    assert sorted(parameters_typed_store(source)) == [
        "__init__(a) line 4",
        "__init__(b) line 4",
        "f(d) line 5",
    ]


def test_only_the_builders_take_the_whole_store():
    """A service handed the whole Store (63 public methods) hides what it touches: it takes the port
    it uses instead, and mypy checks at the builders that Store provides it."""
    offending = sorted(
        f"{name}: {found}"
        for name, path in _modules().items()
        if not any(name == b or name.startswith(f"{b}.") for b in STORE_BUILDERS)
        for found in parameters_typed_store(path)
    )
    assert not offending, "these take the whole Store, not a port of it:\n" + "\n".join(offending)


def test_the_builders_still_name_the_store():
    """The rule above looks at the right modules: the bot and the registry do take the Store."""
    assert list(parameters_typed_store(_modules()["bot.services.registry"]))
    assert list(parameters_typed_store(_modules()["bot.bot"]))
