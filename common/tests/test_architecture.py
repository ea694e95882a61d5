"""The import rules of docs/architecture.md, read from the source of every product module.

Imports run one way: statements -> delivery -> orders -> suppliers -> common. An app imports
only itself and the apps to its right; no app imports orders_portal (the project package,
which may import them all); common imports none of the project's apps. Every import counts,
at module level or inside a function. Tests, testsupport and bench are exempt: they drive
the whole project from outside.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parents[2]
# Left to right: each app may import the ones after it.
LAYERS = ["statements", "delivery", "orders", "suppliers", "common"]
PROJECT = "orders_portal"
EXEMPT_DIRS = {"tests", "testsupport", "bench"}


def product_modules(app: str) -> list[Path]:
    return sorted(
        path
        for path in (BASE_DIR / app).rglob("*.py")
        if not EXEMPT_DIRS.intersection(path.relative_to(BASE_DIR).parts)
    )


def imported_packages(path: Path, root: Path = BASE_DIR) -> set[str]:
    """The top-level package of everything the module imports (relative imports resolved)."""
    # The package a relative import starts from: a module's, or an __init__'s own.
    package = list(path.relative_to(root).parts[:-1])
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                assert base, f"{path}: relative import above its app"
                found.add(base[0])
            elif node.module:
                found.add(node.module.split(".")[0])
    return found


def allowed(app: str) -> set[str]:
    return {app, *LAYERS[LAYERS.index(app) + 1 :]}


@pytest.mark.parametrize("app", LAYERS)
def test_each_app_imports_only_itself_and_the_apps_below_it(app):
    project = {*LAYERS, PROJECT}
    modules = product_modules(app)
    assert modules, f"no modules found for {app}"
    wrong = {
        str(path.relative_to(BASE_DIR)): sorted((imported_packages(path) & project) - allowed(app))
        for path in modules
    }
    assert {module: apps for module, apps in wrong.items() if apps} == {}


def test_no_app_imports_the_project_package():
    importers = [
        str(path.relative_to(BASE_DIR))
        for app in LAYERS
        for path in product_modules(app)
        if PROJECT in imported_packages(path)
    ]
    assert importers == []


def test_common_imports_no_project_app():
    assert allowed("common") == {"common"}
    for path in product_modules("common"):
        assert imported_packages(path) & {*LAYERS[:-1], PROJECT} == set(), path


def test_the_reader_counts_nested_and_relative_imports(tmp_path):
    """The checker itself: an import inside a function counts, and a relative one is its app's."""
    module = tmp_path / "orders" / "selectors" / "history.py"
    module.parent.mkdir(parents=True)
    module.write_text(
        "from ..models import Order\n"
        "from . import retailers\n"
        "def f():\n"
        "    from delivery.models import Delivery\n"
        "    import orders_portal.settings\n"
    )
    assert imported_packages(module, root=tmp_path) == {"orders", "delivery", "orders_portal"}
