"""The apps depend one way (annotation ← quality ← exports; annotation ← leaderboard ← drive, and
exports reads the contests' windows from leaderboard for a snapshot's metadata), and no
services module imports a tasks module (tasks call services): read from every module's imports,
the lazy ones inside functions included."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
APPS = ("annotation", "quality", "exports", "leaderboard", "drive")
MAY_IMPORT = {
    "annotation": set(),
    "quality": {"annotation"},
    "exports": {"annotation", "quality", "leaderboard"},
    "leaderboard": {"annotation"},
    "drive": {"annotation", "leaderboard"},
}


def imports_of(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def modules(app: str):
    for path in sorted((ROOT / app).rglob("*.py")):
        yield path, imports_of(path)


@pytest.mark.parametrize("app", APPS)
def test_each_app_imports_only_the_apps_below_it(app):
    wrong = {
        f"{path.relative_to(ROOT)} imports {name}"
        for path, names in modules(app)
        for name in names
        if name.split(".")[0] in APPS
        and name.split(".")[0] != app
        and name.split(".")[0] not in MAY_IMPORT[app]
    }
    assert wrong == set()


@pytest.mark.parametrize("app", APPS)
def test_no_services_module_imports_a_tasks_module(app):
    services = [
        path
        for path, _ in modules(app)
        if path.name == "services.py" or path.parent.name == "services"
    ]
    wrong = {
        f"{path.relative_to(ROOT)} imports {name}"
        for path in services
        for name in imports_of(path)
        if name.endswith(".tasks") or ".tasks." in name or name == "tasks"
    }
    assert wrong == set()
