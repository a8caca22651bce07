"""Package list for setuptools (everything else is in pyproject.toml).

Code: every ``wfhist`` package, found (a new subpackage cannot be forgotten).
Data: the top-level ``migrations/`` and ``notebooks/`` -- the source of truth --
ship inside the wheel as the packages ``wfhist.data.migrations`` and
``wfhist.data.notebooks`` (their files are package data, see pyproject.toml),
where :mod:`wfhist.resources` finds them after a normal ``pip install``.
"""

from setuptools import find_packages, setup

DATA = {"wfhist.data.migrations": "migrations", "wfhist.data.notebooks": "notebooks"}

setup(
    packages=[*find_packages(include=["wfhist", "wfhist.*"]), *DATA],
    package_dir=DATA,
)
