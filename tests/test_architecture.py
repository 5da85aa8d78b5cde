"""The layers, as contracts that fail when an import breaks them.

``.importlinter`` holds the forbidden imports (the domain never imports the transport, the web
plumbing or a view; pushes only through the dispatcher; jobs never import views); this file adds
what import-linter does not say: no cycle among module-level imports, and no private name
(``_something``) of one module used by another.
"""
from __future__ import annotations

import ast
import os
from pathlib import Path

from importlinter import configuration
from importlinter.application.use_cases import lint_imports
import pytest

pytestmark = pytest.mark.database_independent

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "app"


def _modules() -> dict[str, Path]:
    found = {}
    for path in APP.rglob("*.py"):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def _resolve(module: str, is_package: bool, level: int, name: str | None) -> str:
    base = module.split(".") if is_package else module.split(".")[:-1]
    if level > 1:
        base = base[: len(base) - (level - 1)]
    return ".".join(base + ([name] if name else []))


def _imports(modules: dict[str, Path], module_level_only: bool):
    """(importing module, imported module, node, names imported) for every import of an app module."""
    for module, path in modules.items():
        tree = ast.parse(path.read_text())
        nodes = tree.body if module_level_only else list(ast.walk(tree))
        for node in nodes:
            if isinstance(node, ast.ImportFrom):
                base = (_resolve(module, path.name == "__init__.py", node.level, node.module) if node.level
                        else node.module or "")
                for alias in node.names:
                    target = f"{base}.{alias.name}"
                    yield module, (target if target in modules else base), node, alias
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    yield module, alias.name, node, alias


def test_the_layer_contracts_hold():
    configuration.configure()
    previous = os.getcwd()
    os.chdir(ROOT)
    try:
        assert lint_imports(config_filename=str(ROOT / ".importlinter"), no_logo=True), \
            "an import breaks a contract of .importlinter (the report above says which)"
    finally:
        os.chdir(previous)


def test_no_cycle_among_module_level_imports():
    modules = _modules()
    graph: dict[str, set[str]] = {module: set() for module in modules}
    for module, target, _, _ in _imports(modules, module_level_only=True):
        while target and target not in modules:
            target = target.rpartition(".")[0]
        if target and target != module and not module.startswith(target + "."):
            graph[module].add(target)
    cycles, done = [], set()

    def visit(module: str, path: list[str]) -> None:
        for nxt in sorted(graph[module]):
            if nxt in path:
                cycles.append(" -> ".join(path[path.index(nxt):] + [nxt]))
            elif nxt not in done:
                done.add(nxt)
                visit(nxt, path + [nxt])

    for module in sorted(graph):
        if module not in done:
            done.add(module)
            visit(module, [module])
    assert cycles == []


def test_no_private_name_crosses_modules():
    """``from .x import _y`` and ``x._y`` where ``x`` is another app module: a private name used
    elsewhere is a public one that does not say so."""
    modules = _modules()
    crossing = []
    for module, target, node, alias in _imports(modules, module_level_only=False):
        if target not in modules and isinstance(node, ast.ImportFrom) and alias.name.startswith("_") \
                and not alias.name.startswith("__"):
            crossing.append(f"{module}: from {target} import {alias.name}")
    for module, path in modules.items():
        imported = {alias.asname or alias.name for m, t, node, alias in _imports({module: path}, False)
                    if isinstance(node, ast.ImportFrom) and f"{t}" in modules and t != module}
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__")
                    and isinstance(node.value, ast.Name) and node.value.id in imported):
                crossing.append(f"{module}: {node.value.id}.{node.attr}")
    assert crossing == []
