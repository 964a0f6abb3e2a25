"""Shared fixtures: every test gets its own HOME, XDG dirs and CSA_STATE_DIR under tmp_path."""

import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
FAKE_BIN = REPO / "tools" / "fake_clis" / "bin"


@pytest.fixture(autouse=True)
def isolated_env(tmp_path, monkeypatch):
    """Point all of csa's state, config and HOME at tmp_path; drop inherited CSA_* vars."""
    home = tmp_path / "home"
    home.mkdir()
    for key in list(os.environ):
        if key.startswith("CSA_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_STATE_HOME", str(home / ".local" / "state"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / ".cache"))
    monkeypatch.setenv("CSA_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    return tmp_path


@pytest.fixture
def state_dir(isolated_env):
    return isolated_env / "state"


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A plain (non-git) project directory, made the cwd."""
    p = tmp_path / "proj"
    p.mkdir()
    monkeypatch.chdir(p)
    return p


@pytest.fixture
def python_exe():
    return sys.executable


def pytest_addoption(parser):
    parser.addoption("--stress-long", action="store_true", default=False,
                     help="run the long version of the tests marked `stress` "
                          "(hundreds of kill rounds, 64 concurrent runs, 1,000 gc rounds)")


@pytest.fixture
def stress_long(request) -> bool:
    """True under --stress-long: stress tests use their long sizes."""
    return bool(request.config.getoption("--stress-long"))


@pytest.fixture
def repo(project):
    """`project` as a git repository on branch main with one commit (a.txt)."""
    from runkit import init_repo

    return init_repo(project)
