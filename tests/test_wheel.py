"""A wheel ships every migration and notebook as package data.

The full check (build the wheel, install it into a clean venv, run demo, migrate
and a report outside the checkout) is CI's wheel smoke test in ``.ci/run``; this
test keeps the packaging honest in seconds. Where wfhist finds the files (checkout
or package data) is tests/test_resources.py.
"""

from __future__ import annotations

import ast
import tomllib

from tests.conftest import ROOT


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
