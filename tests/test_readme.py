"""The README's layout is the tree: every file it names exists, and every module of an app is named.

A layout that named files which did not exist, and left out half of an app, misled newcomers
once; this keeps the map and the territory together.
"""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
APPS = ["config", "annotation", "leaderboard", "quality", "exports", "drive"]


def layout_sections() -> dict[str, str]:
    """The README's layout block, one text per top-level entry (its line and the indented ones)."""
    readme = (ROOT / "README.md").read_text()
    block = readme.split("## Layout", 1)[1].split("```", 2)[1]
    sections: dict[str, str] = {}
    current = None
    for line in block.strip("\n").splitlines():
        if line and not line[0].isspace():
            current = re.split(r"\s{2,}", line, maxsplit=1)[0]
            sections[current] = line
        elif current is not None:
            sections[current] += "\n" + line
    return sections


def modules(app: str) -> list[Path]:
    return sorted(
        path.relative_to(ROOT / app)
        for path in (ROOT / app).rglob("*.py")
        if "migrations" not in path.parts and path.name != "__init__.py"
    )


def test_every_top_level_entry_of_the_layout_exists():
    names = [name.strip() for key in layout_sections() for name in key.split(",")]
    assert names, "the README has no layout block"
    missing = [name for name in names if not (ROOT / name.rstrip("/")).exists()]
    assert missing == []


@pytest.mark.parametrize("app", APPS)
def test_the_layout_names_every_module_of_each_app_and_nothing_else(app):
    section = layout_sections()[f"{app}/"]
    named = set(re.findall(r"[\w-]+\.py\b", section))
    present = {path.name for path in modules(app)}
    assert named - present == set(), f"the README names {app} files that do not exist"
    assert present - named == set(), f"the README leaves out {app} modules"
    # Folders named as `services/` or `management/commands/`; not URL paths such as /api/v1/.
    folders = set(re.findall(r"(?<![\w/])(\w+(?:/\w+)*)/(?=[\s,])", section)) - {app}
    assert [f for f in folders if not (ROOT / app / f).is_dir()] == []


def test_the_layout_names_every_benchmark():
    section = layout_sections()["bench/"]
    benchmarks = {p.stem for p in (ROOT / "bench").glob("*.py")} - {"__init__", "common"}
    assert {name for name in benchmarks if name not in section} == set()


def test_the_readme_lists_the_demo_logins_make_run_prints():
    from annotation.management.commands.seed_demo import TRY

    readme = (ROOT / "README.md").read_text()
    for username, what in TRY.items():
        assert f"| {username:<5} | {what} |" in readme
