"""The house rules (tests/layering.py) hold on the real tree, and the checker catches each kind
of break: every rule is shown failing on a small planted tree."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests import layering
from tests.layering import (
    DATABASE_IN_FRONT_END,
    FILE_SIZE,
    FRONT_END_PAIR,
    IDENTITY,
    LAYER,
    MAX_LINES,
    MODULE_CYCLE,
    PACKAGE_CYCLE,
    UNPLACED,
    Violation,
    check,
)

SRC = Path(__file__).resolve().parents[1] / "src"


@pytest.fixture(scope="module")
def found() -> list[Violation]:
    return check(SRC)


def test_the_tree_keeps_the_house_rules(found: list[Violation]) -> None:
    assert not found, "the house rules are broken (docs/architecture.md):\n" + "\n".join(
        map(str, found)
    )


def test_every_module_has_a_layer(found: list[Violation]) -> None:
    """A new package must be placed in LAYERS: an unplaced module would escape the order."""
    assert [v for v in found if v.rule == UNPLACED] == []


# --- planted violations: each rule, broken once in a small tree of its own --------------------


def plant(tmp_path: Path, files: dict[str, str]) -> Path:
    """A fake source tree: `files` maps paths under tiemchung/ to their text. Every directory
    gets an __init__.py, so each is a package as in the real tree."""
    src = tmp_path / "src"
    for name, text in {"__init__.py": "", **files}.items():
        path = src / "tiemchung" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        for parent in path.relative_to(src).parents:
            if parent != Path("."):
                (src / parent / "__init__.py").touch()
        path.write_text(text, encoding="utf-8")
    return src


def rules(src: Path) -> set[tuple[str, int, str]]:
    return {(v.file, v.line, v.rule) for v in check(src)}


KERNEL = {
    "registry/models.py": "from tiemchung.identity import names\n",
    "identity/names.py": '"""Names."""\n',
}


def test_a_clean_tree_reports_nothing(tmp_path: Path) -> None:
    src = plant(
        tmp_path,
        {
            **KERNEL,
            "store/db.py": "from tiemchung.registry import models\n",
            "registry/doses/record.py": "from tiemchung.store import db\nimport sqlalchemy\n",
            "api/routes/doses.py": "from tiemchung.registry.doses.record import x\n",
            "web/routes/desk.py": "from tiemchung.registry.doses import record\n",
            "cli/main.py": (
                "from tiemchung.api.routes import doses\nfrom tiemchung.web import routes\n"
            ),
        },
    )
    assert check(src) == []


def test_identity_importing_the_project_is_reported(tmp_path: Path) -> None:
    src = plant(
        tmp_path,
        {
            "registry/models.py": "",
            "identity/ids.py": '"""IDs."""\n\nfrom ..registry import models\n',
        },
    )
    assert rules(src) == {("tiemchung/identity/ids.py", 3, IDENTITY)}


def test_a_lower_layer_importing_a_higher_one_is_reported(tmp_path: Path) -> None:
    src = plant(
        tmp_path,
        {
            **KERNEL,
            "store/writer.py": "def f():\n    from tiemchung.registry.review import tickets\n",
            "registry/review/tickets.py": "",
        },
    )
    found = check(src)
    assert [(v.file, v.line, v.rule) for v in found] == [("tiemchung/store/writer.py", 2, LAYER)]
    assert "layer store" in found[0].message and "layer capabilities" in found[0].message


def test_api_importing_web_is_reported(tmp_path: Path) -> None:
    src = plant(
        tmp_path,
        {"api/routes/stats.py": "from tiemchung.web.pages import render\n", "web/pages.py": ""},
    )
    assert rules(src) == {("tiemchung/api/routes/stats.py", 1, FRONT_END_PAIR)}


def test_web_importing_api_is_reported(tmp_path: Path) -> None:
    src = plant(
        tmp_path, {"web/session.py": "import tiemchung.api.security\n", "api/security.py": ""}
    )
    assert rules(src) == {("tiemchung/web/session.py", 1, FRONT_END_PAIR)}


@pytest.mark.parametrize("library", ["sqlalchemy", "sqlalchemy.orm", "duckdb"])
def test_a_route_importing_a_database_library_is_reported(tmp_path: Path, library: str) -> None:
    src = plant(tmp_path, {"web/routes/citizen.py": f'"""A route."""\n\nimport {library}\n'})
    assert rules(src) == {("tiemchung/web/routes/citizen.py", 3, DATABASE_IN_FRONT_END)}


def test_a_package_cycle_is_reported(tmp_path: Path) -> None:
    # no module cycle: doses.a -> review.b, review.c -> doses.d; but doses <-> review
    src = plant(
        tmp_path,
        {
            "registry/doses/a.py": "from tiemchung.registry.review import b\n",
            "registry/doses/d.py": "",
            "registry/review/b.py": "",
            "registry/review/c.py": "\nfrom tiemchung.registry.doses.d import thing\n",
        },
    )
    assert rules(src) == {
        ("tiemchung/registry/doses/a.py", 1, PACKAGE_CYCLE),
        ("tiemchung/registry/review/c.py", 2, PACKAGE_CYCLE),
    }


def test_a_subpackage_using_its_parent_is_not_a_package_cycle(tmp_path: Path) -> None:
    """api/app.py -> api/routes/x.py -> api/deps.py: the FastAPI layout, no cycle of modules."""
    files = {
        "api/app.py": "from tiemchung.api.routes import x\n",
        "api/deps.py": "",
        "api/routes/x.py": "from tiemchung.api import deps\n",
    }
    assert check(plant(tmp_path, files)) == []
    stricter = layering.scan(plant(tmp_path, files))
    assert {(v.file, v.rule) for v in layering.check_cycles(stricter, True)} == {
        ("tiemchung/api/app.py", PACKAGE_CYCLE),
        ("tiemchung/api/routes/x.py", PACKAGE_CYCLE),
    }


def test_a_module_cycle_is_reported(tmp_path: Path) -> None:
    src = plant(
        tmp_path,
        {
            "stats/a.py": "from tiemchung.stats import b\n",
            "stats/b.py": "from tiemchung.stats.c import f\n",
            "stats/c.py": "from . import a\n",
        },
    )
    found = check(src)
    assert {(v.file, v.line, v.rule) for v in found} == {
        ("tiemchung/stats/a.py", 1, MODULE_CYCLE),
        ("tiemchung/stats/b.py", 1, MODULE_CYCLE),
        ("tiemchung/stats/c.py", 1, MODULE_CYCLE),
    }
    first = next(v for v in found if v.file.endswith("a.py"))
    assert "tiemchung.stats.b -> tiemchung.stats.c -> tiemchung.stats.a" in first.message


def test_an_import_inside_a_function_still_makes_a_cycle(tmp_path: Path) -> None:
    src = plant(
        tmp_path,
        {
            "registry/review/tickets.py": "from tiemchung.registry.review.worklists import q\n",
            "registry/review/worklists.py": (
                "def close():\n    from tiemchung.registry.review.tickets import t\n    return t\n"
            ),
        },
    )
    found = check(src)
    assert {(v.file, v.line, v.rule) for v in found} == {
        ("tiemchung/registry/review/tickets.py", 1, MODULE_CYCLE),
        ("tiemchung/registry/review/worklists.py", 2, MODULE_CYCLE),
    }
    assert any("(inside a function)" in v.message for v in found)


def test_an_oversized_file_is_reported_unless_it_is_a_data_table(tmp_path: Path) -> None:
    long_text = "X = 1\n" * (MAX_LINES + 1)
    src = plant(
        tmp_path,
        {
            "stats/big.py": long_text,
            "synth/tables.py": long_text,
            "stats/fits.py": "X = 1\n" * MAX_LINES,
        },
    )
    assert rules(src) == {("tiemchung/stats/big.py", MAX_LINES + 1, FILE_SIZE)}
    tree = layering.scan(src)
    assert [v.file for v in layering.check_file_size(tree, data_tables={})] == [
        "tiemchung/stats/big.py",
        "tiemchung/synth/tables.py",
    ]


def test_a_module_in_no_layer_is_reported(tmp_path: Path) -> None:
    # (a package no layer names: fhir/ was the example until issue 19 placed it)
    src = plant(tmp_path, {"unplaced/bundle.py": ""})
    assert rules(src) == {
        ("tiemchung/unplaced/__init__.py", 1, UNPLACED),
        ("tiemchung/unplaced/bundle.py", 1, UNPLACED),
    }


def test_a_violation_names_file_line_and_rule(tmp_path: Path) -> None:
    src = plant(tmp_path, {"api/routes/reference.py": "\n\nfrom duckdb import connect\n"})
    (violation,) = check(src)
    assert str(violation).startswith(
        f"tiemchung/api/routes/reference.py:3: [{DATABASE_IN_FRONT_END}] tiemchung.api.routes"
    )
