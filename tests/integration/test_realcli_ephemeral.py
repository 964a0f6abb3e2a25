"""`csa run --ephemeral` with the REAL claude and codex: their own no-persistence switch
keeps their conversation off the disk (claude `--no-session-persistence`, codex
`exec --ephemeral`), and csa leaves nothing under its state dir.

gemini 0.61 and opencode 1.18 have no such switch (tools/REALCLI_NOTES.md): not tested.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from conftest import RealCli


def _files(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file()} if root.exists() else set()


def _own_store(rc: RealCli) -> Path:
    if rc.tool == "codex":
        return Path(rc.tool_env["CODEX_HOME"]) / "sessions"
    return rc.home / ".claude" / "projects"


@pytest.mark.parametrize("tool", ["claude-code", "codex"])
def test_ephemeral_real_cli_persists_nothing(tool: str, realcli: RealCli) -> None:
    rc = realcli
    # An ephemeral run does not read the project's config: the tool's binary and offline
    # env go in the user's (global) config instead.
    cfg = Path(rc.env["XDG_CONFIG_HOME"]) / "csa" / "config.toml"
    cfg.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(rc.project / ".csa" / "config.toml", cfg)
    state_before, own_before = _files(rc.state_dir), _files(_own_store(rc))
    res = rc.csa("run", "--ephemeral", "--tool", tool, "nothing to keep", label="ephemeral")
    assert res.returncode == 0, "ephemeral: " + rc.explain(res)
    assert res.stdout.strip(), rc.explain(res)
    assert rc.model_requests_since(0), "the mock saw no model request"
    assert _files(rc.state_dir) == state_before
    assert _files(_own_store(rc)) == own_before, f"{tool} stored its conversation"
    assert not any(Path(rc.env["TMPDIR"]).glob("csa-ephemeral-*"))
    # Without the switch the same tool does store it (so the check above can fail).
    res = rc.csa("run", "--tool", tool, "keep this", label="stored")
    assert res.returncode == 0, "stored: " + rc.explain(res)
    assert _files(_own_store(rc)) - own_before
