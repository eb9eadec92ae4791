"""The application's modules import each other without cycles.

Every import counts, also one written inside a function to dodge a cycle at
import time: a module that needs a lazy import to load is in a cycle that only
moved. The AWS edge rule is checked too: boto3/botocore appear only in the
gateway modules.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("portal", "catalog", "sharing", "usage")
AWS_EDGE = {"portal.aws", "catalog.gateways.featurestore", "catalog.gateways.lineage", "sharing.aws", "usage.aws"}
# Cycles that exist and have an owner. An entry here that no longer occurs
# fails the test too, so the list only shrinks.
KNOWN_CYCLES: set[str] = set()


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


def _imports(name: str, path: Path, modules: dict[str, Path]) -> tuple[set[str], set[str]]:
    """Project modules and top-level third-party packages that `name` imports anywhere in its body."""
    project, external = set(), set()
    is_package = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = name.split(".") if is_package else name.split(".")[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base for alias in node.names]
        else:
            continue
        for target in targets:
            if target in modules:
                project.add(target)
            elif target.split(".")[0] not in PACKAGES:
                external.add(target.split(".")[0])
    project.discard(name)
    return project, external


def _graph():
    modules = _modules()
    return {name: _imports(name, path, modules) for name, path in modules.items()}


def test_application_modules_import_each_other_without_cycles():
    edges = {name: deps for name, (deps, _) in _graph().items()}
    cycles = []
    state: dict[str, str] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = "open"
        stack.append(node)
        for dep in sorted(edges.get(node, ())):
            if state.get(dep) == "open":
                cycles.append(" → ".join([*stack[stack.index(dep) :], dep]))
            elif dep not in state:
                visit(dep)
        stack.pop()
        state[node] = "done"

    for name in sorted(edges):
        if name not in state:
            visit(name)
    assert set(cycles) - KNOWN_CYCLES == set(), "new import cycles"
    assert KNOWN_CYCLES - set(cycles) == set(), "fixed cycles: remove them from KNOWN_CYCLES"


def test_catalog_never_imports_sharing():
    importers = sorted(
        f"{name} → {dep}"
        for name, (deps, _) in _graph().items()
        if name.startswith("catalog")
        for dep in deps
        if dep.startswith("sharing")
    )
    assert importers == []


def test_only_the_aws_edge_modules_import_boto3():
    importers = sorted(name for name, (_, external) in _graph().items() if external & {"boto3", "botocore"})
    assert set(importers) <= AWS_EDGE, importers
