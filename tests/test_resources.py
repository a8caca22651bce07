"""wfhist.resources: the shipped migrations and notebooks are found in a checkout, in an
installed wheel's package data (preferred), and a missing copy is one line, not a crash."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT
from wfhist import resources
from wfhist.migrations import discover

FIND = (
    "import sys; sys.path.insert(0, sys.argv[1]); import wfhist.resources as r\n"
    "from wfhist.exceptions import UsageError\n"
    "print(r.__file__)\n"
    "for f in (r.migrations_dir, r.notebooks_dir):\n"
    "    try:\n"
    "        print(f())\n"
    "    except UsageError as e:\n"
    "        print('UsageError:', e)\n"
)


def _site(tmp_path: Path, *data: str) -> Path:
    """A copy of the package laid out as pip installs it, with only ``data`` folders."""
    site = tmp_path / "site"
    shutil.copytree(ROOT / "wfhist", site / "wfhist", ignore=shutil.ignore_patterns("__pycache__"))
    for name in data:
        shutil.copytree(ROOT / name, site / "wfhist" / "data" / name)
    return site


def _find(site: Path) -> list[str]:
    """What the copy finds, imported from outside the checkout (not the editable install)."""
    return subprocess.run(
        [sys.executable, "-c", FIND, str(site)],
        cwd=site.parent,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout.splitlines()


def test_a_checkout_uses_its_top_level_folders() -> None:
    assert resources.migrations_dir() == ROOT / "migrations"
    assert resources.notebooks_dir() == ROOT / "notebooks"
    assert [m.path.parent for m in discover()] == [ROOT / "migrations"] * len(discover())
    assert {p.name for p in resources.notebooks_dir().glob("*.ipynb")} >= {
        "temporal_analytics.ipynb",
        "scoring_versions.ipynb",
        "verify_migration.ipynb",
    }


def test_an_installed_copy_uses_its_package_data(tmp_path: Path) -> None:
    site = _site(tmp_path, "migrations", "notebooks")
    assert _find(site) == [
        str(site / "wfhist" / "resources.py"),
        str(site / "wfhist" / "data" / "migrations"),
        str(site / "wfhist" / "data" / "notebooks"),
    ]


def test_a_copy_without_its_data_says_what_is_missing_in_one_line(tmp_path: Path) -> None:
    site = _site(tmp_path, "notebooks")  # migrations lost, and no checkout next to it
    out = _find(site)
    assert out[0] == str(site / "wfhist" / "resources.py")
    assert (
        out[1].startswith("UsageError: ")
        and "the migrations shipped with wfhist are missing" in out[1]
    )
    assert "reinstall wfhist" in out[1]
    assert out[2] == str(site / "wfhist" / "data" / "notebooks")
    assert len(out) == 3
