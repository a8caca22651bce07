"""Migrations and notebooks are found in a checkout and in an installed wheel's package data.

The full check (build the wheel, install it into a clean venv, run demo, migrate
and a report outside the checkout) is CI's wheel smoke test in ``.ci/run``; these
tests keep the pieces honest in seconds.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

from tests.conftest import ROOT
from wfhist import resources


def test_checkout_folders_are_the_source_of_truth() -> None:
    assert resources.migrations_dir() == ROOT / "migrations"
    assert resources.notebooks_dir() == ROOT / "notebooks"
    names = sorted(p.name for p in resources.migrations_dir().glob("*.sql"))
    assert names[:3] == [
        "006_add_scoring_version.sql",
        "007_schema_version_view.sql",
        "008_rename_temporal_columns.sql",
    ]


def test_packaging_ships_every_migration_and_notebook() -> None:
    """setup.py maps the folders to wfhist.data.*; pyproject's package data takes every file."""
    tree = ast.parse((ROOT / "setup.py").read_text(encoding="utf-8"))
    data = next(
        ast.literal_eval(node.value)
        for node in tree.body
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "DATA"
    )
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    package_data = config["tool"]["setuptools"]["package-data"]
    for package, folder, pattern in (
        ("wfhist.data.migrations", "migrations", "*.sql"),
        ("wfhist.data.notebooks", "notebooks", "*.ipynb"),
    ):
        assert data[package] == folder
        assert pattern in package_data[package]
        assert list((ROOT / folder).glob(pattern))
        others = [
            p
            for p in (ROOT / folder).iterdir()
            if not p.match(pattern) and not p.name.startswith(".")  # .ipynb_checkpoints
        ]
        assert others == [], f"{folder}/ holds files the wheel would not ship: {others}"


def test_installed_layout_uses_package_data(tmp_path: Path) -> None:
    """A copy of the package laid out as pip installs it, imported from outside the checkout."""
    site = tmp_path / "site"
    shutil.copytree(ROOT / "wfhist", site / "wfhist", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "migrations", site / "wfhist" / "data" / "migrations")
    shutil.copytree(ROOT / "notebooks", site / "wfhist" / "data" / "notebooks")
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); import wfhist.resources as r; "
        "print(r.__file__); print(r.migrations_dir()); print(r.notebooks_dir())"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(site)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout.split()
    assert out == [
        str(site / "wfhist" / "resources.py"),
        str(site / "wfhist" / "data" / "migrations"),
        str(site / "wfhist" / "data" / "notebooks"),
    ]
