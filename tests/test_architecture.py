"""The package's floors (docs/architecture.md), checked against the imports.

A module may import from its own package, from the primitives and from the floors
below its own, never upward: the ledger knows nothing of rating, usage or HTTP;
rating knows nothing of balances; the edges (API, CLI, demo, benchmarks) sit on top.
Imports inside functions count too.
"""

from __future__ import annotations

import ast
from pathlib import Path

SOURCE = Path(__file__).resolve().parents[1] / "src" / "tollgate"

# Floor of each top-level module or package of tollgate (docs/architecture.md).
FLOORS = {
    # 1. primitives
    "money": 1,
    "clock": 1,
    "errors": 1,
    "config": 1,
    "db": 1,
    "rawsql": 1,
    "logs": 1,
    "idempotency": 1,
    "journal_guard": 1,
    # 2. the ledger
    "ledger": 2,
    # 3. domains beside the ledger
    "rating": 3,
    "accounts": 3,
    "access": 3,
    "events": 3,
    # 4. services that join them
    "usage": 4,
    "jobs": 4,
    "purchasing": 4,
    "plans": 4,
    "numbers": 4,
    "reports": 4,
    "webhooks": 4,
    # 5. edges
    "api": 5,
    "web": 5,
    "cli": 5,
    "demo": 5,
    "bench": 5,
    "models": 5,
    "migrate": 5,
    "migrations": 5,
    "__main__": 5,
    # the package itself: its version
    "__init__": 1,
}
# Same-floor neighbours that must not know each other.
FORBIDDEN = {("rating", "ledger"), ("rating", "accounts"), ("ledger", "accounts")}


def _top(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "tollgate" or len(parts) == 1:
        return None
    # ``from tollgate import __version__`` names the package itself.
    return parts[1] if parts[1] in FLOORS else "__init__"


def _imports() -> list[tuple[str, int, str, str]]:
    found = []
    for path in sorted(SOURCE.rglob("*.py")):
        relative = path.relative_to(SOURCE)
        owner = relative.parts[0].removesuffix(".py")
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
                if node.module == "tollgate":
                    names = [f"tollgate.{alias.name}" for alias in node.names]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            for name in names:
                target = _top(name)
                if target is not None and target != owner:
                    found.append((str(relative), node.lineno, owner, target))
    return found


def test_every_module_has_a_floor():
    owners = {
        path.relative_to(SOURCE).parts[0].removesuffix(".py") for path in SOURCE.rglob("*.py")
    }
    assert owners - set(FLOORS) == set()


def test_no_module_imports_upward():
    upward = [
        f"{path}:{line}: {owner} (floor {FLOORS[owner]}) imports {target} (floor {FLOORS[target]})"
        for path, line, owner, target in _imports()
        if FLOORS[target] > FLOORS[owner] or (owner, target) in FORBIDDEN
    ]
    assert upward == []


def test_the_api_package_has_no_import_cycle():
    """Routes and their helpers never import the app factory: the runtime they need
    lives in api/deps.py, and only the package's entry point imports the app."""
    importers = sorted(
        str(path.relative_to(SOURCE))
        for path in (SOURCE / "api").rglob("*.py")
        if "tollgate.api.app" in path.read_text()
    )
    assert importers == ["api/__init__.py"]
