"""`golive check` finds its feature files in a `pip install .` (not only in the editable install
the repository runs from): features/golive ships as package data."""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from entrypoints.golive_check import FEATURES, features_directory

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = {*FEATURES, "conftest.py", "pytest.ini", "test_checklist.py", "__init__.py"}


def test_the_editable_install_runs_the_repository_s_feature_files():
    assert features_directory() == ROOT / "features" / "golive"


def test_a_regular_install_ships_the_feature_files(tmp_path):
    source = tmp_path / "src"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    for package in ("domain", "application", "adapters", "entrypoints", "features"):
        shutil.copytree(ROOT / package, source / package, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-deps",
                    "--no-compile", "--target", str(site), str(source)],
                   check=True, capture_output=True, timeout=300)  # pip builds it as `pip install .` does
    # -S: no site.py, so the repository's editable finder is not installed; the dependencies
    # come from the venv's site-packages, QuantShift only from the installed copy.
    code = ("import sys; sys.path[:0] = [sys.argv[1], sys.argv[2]]\n"
            "from entrypoints.golive_check import features_directory\n"
            "d = features_directory(); print(d); print(' '.join(sorted(p.name for p in d.iterdir())))")
    result = subprocess.run([sys.executable, "-S", "-c", code, str(site), sysconfig.get_paths()["purelib"]],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    where, names = result.stdout.splitlines()
    assert Path(where) == site / "features" / "golive"
    assert SHIPPED <= set(names.split())
