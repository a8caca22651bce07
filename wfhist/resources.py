"""Where the shipped migrations and report notebooks are, in a wheel and in a checkout.

The top-level ``migrations/`` and ``notebooks/`` folders of the repository are
the source of truth. A wheel carries copies of them as package data under
``wfhist/data/`` (``pyproject.toml`` maps the packages ``wfhist.data.migrations``
and ``wfhist.data.notebooks`` onto those folders), because after a normal
``pip install`` there is no repository to look in. A source checkout or an
editable install has no ``wfhist/data/`` and uses the folders themselves, so an
edit to a migration is seen at once, without reinstalling.
"""

from __future__ import annotations

import importlib.resources
from pathlib import Path

from wfhist.exceptions import UsageError

_CHECKOUT = Path(__file__).resolve().parent.parent


def _shipped(name: str) -> Path:
    """``wfhist/data/<name>`` of an installed wheel, else ``<checkout>/<name>``.

    Both are real directories: wfhist is installed unzipped (pip always
    unpacks wheels), and migrations are globbed and hashed as files.
    """
    packaged = importlib.resources.files("wfhist").joinpath("data", name)
    if isinstance(packaged, Path) and packaged.is_dir():
        return packaged
    checkout = _CHECKOUT / name
    if checkout.is_dir():
        return checkout
    raise UsageError(
        f"{packaged}: the {name} shipped with wfhist are missing (neither package data nor a "
        f"source checkout's {name}/); reinstall wfhist, or pass the folder explicitly"
    )


def migrations_dir() -> Path:
    """The folder of the migrations wfhist ships (``006_…sql``, ``007_…``, ``008_…``)."""
    return _shipped("migrations")


def notebooks_dir() -> Path:
    """The folder of the report notebooks (``temporal_analytics.ipynb``, …)."""
    return _shipped("notebooks")
