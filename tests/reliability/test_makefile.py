"""Tests never change the system: only `make data` installs system packages (checked with make's dry run)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def fresh(tmp_path):
    """The Makefile and what its venv stamp depends on, in a folder without a venv (a fresh clone)."""
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    for name in ("Makefile", "pyproject.toml", "constraints.txt"):
        shutil.copy(ROOT / name, tmp_path / name)
    return tmp_path


def _dry_run(folder, target) -> str:
    out = subprocess.run(
        ["make", "-n", "-C", str(folder), target], capture_output=True, text=True, check=True
    )
    return out.stdout + out.stderr


@pytest.mark.parametrize("target", ["test", "test-slow", "test-all", "venv", "lint", "demo"])
def test_only_make_data_installs_system_packages(fresh, target):
    assert "apt-get" not in _dry_run(fresh, target)


def test_make_data_is_the_explicit_install(fresh):
    assert "apt-get install" in _dry_run(fresh, "data")
