"""The layers of docs/architecture.md, held on the tree: no import circle, nothing
imports a module of a higher layer, no stage imports another, no module too long."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT

PACKAGE = ROOT / "generator"
#: Lowest first. A module may import its own package's modules and any lower layer's.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("generator", "generator.core"),
    (
        "generator.collect",
        "generator.table",
        "generator.suggest",
        "generator.check",
        "generator.generate",
        "generator.perl",
    ),
    ("generator.app",),
    ("generator.cli",),
    ("generator.__main__",),
)
MAX_LINES = 400
MAX_CLI_LINES = 250


def modules() -> Iterator[tuple[str, Path]]:
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        yield name, path


def unit(module: str) -> str:
    """The layer entry a module belongs to: itself, or the stage package holding it."""
    for layer in LAYERS:
        for entry in sorted(layer, key=len, reverse=True):
            if entry != "generator" and (module == entry or module.startswith(entry + ".")):
                return entry
    assert module == "generator", f"{module} is in no layer of docs/architecture.md"
    return module


def layer(entry: str) -> int:
    return next(i for i, names in enumerate(LAYERS) if entry in names)


def imports(path: Path) -> set[str]:
    """Every generator module `path` imports, at the top or inside a function."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("generator")}
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("generator"):
            assert node.level == 0, f"{path}: a relative import"
            base = node.module or ""
            for alias in node.names:  # `from generator.app import settings` names a module
                sub = f"{base}.{alias.name}"
                found.add(
                    sub if (PACKAGE.parent / (sub.replace(".", "/") + ".py")).exists() else base
                )
    return found


GRAPH = {name: imports(path) for name, path in modules()}


@pytest.mark.parametrize("module", sorted(GRAPH))
def test_no_module_imports_a_higher_layer_or_another_stage(module: str) -> None:
    mine = unit(module)
    for other in sorted(GRAPH[module]):
        theirs = unit(other)
        if theirs == mine:
            continue
        assert layer(theirs) < layer(mine), f"{module} imports {other} ({theirs})"


def test_no_import_circle() -> None:
    state: dict[str, str] = {}

    def visit(name: str, path: list[str]) -> None:
        if state.get(name) == "done":
            return
        assert state.get(name) != "open", " -> ".join([*path, name])
        state[name] = "open"
        for other in sorted(GRAPH.get(name, ())):
            if other in GRAPH and other != name:
                visit(other, [*path, name])
        state[name] = "done"

    for name in sorted(GRAPH):
        visit(name, [])


@pytest.mark.parametrize(("module", "path"), list(modules()))
def test_no_module_is_too_long(module: str, path: Path) -> None:
    lines = len(path.read_text().splitlines())
    limit = MAX_CLI_LINES if module == "generator.cli.main" else MAX_LINES
    assert lines <= limit, f"{path.relative_to(ROOT)}: {lines} lines, over {limit}"


def test_the_architecture_page_names_every_layer() -> None:
    page = (ROOT / "docs" / "architecture.md").read_text()
    for names in LAYERS:
        for name in names:
            assert f"`{name}`" in page, name


def test_the_top_of_the_package_holds_only_packages() -> None:
    loose = sorted(
        p.name for p in PACKAGE.glob("*.py") if p.name not in ("__init__.py", "__main__.py")
    )
    assert loose == [], f"modules outside any layer's package: {loose}"


def test_nothing_runs_before_the_console_blocks_the_signals() -> None:
    """The package's and the command line's __init__ import nothing, and the console's
    first statements block the handled signals before it imports anything else."""
    for init in (PACKAGE / "__init__.py", PACKAGE / "cli" / "__init__.py"):
        tree = ast.parse(init.read_text())
        assert not [n for n in ast.walk(tree) if isinstance(n, ast.Import | ast.ImportFrom)], init
    body = ast.parse((PACKAGE / "cli" / "console.py").read_text()).body
    statements = [n for n in body if not isinstance(n, ast.Expr)]  # past the docstring
    blocked = next(i for i, n in enumerate(statements) if "pthread_sigmask" in ast.unparse(n))
    before = [ast.unparse(n) for n in statements[:blocked]]
    assert all(
        line in ("from __future__ import annotations", "import signal")
        or line.startswith("HANDLED")
        for line in before
    ), before
