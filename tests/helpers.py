"""Test helpers: build sessions directly through the store, run the CLI in-process."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from click.testing import CliRunner

from csa.cli import cli
from csa.store import Store

REPO = Path(__file__).resolve().parent.parent
# The project's shared material (contract, tool notes, real samples) sits beside the
# repository; /work/shared is where it lives on the development machines.
SHARED = next((p for p in (REPO.parent / "shared", Path("/work/shared")) if p.is_dir()),
              REPO.parent / "shared")
# Real CLI output samples: the shared originals, else the copies kept with the fakes.
SAMPLES = SHARED / "samples" if (SHARED / "samples").is_dir() else \
    REPO / "tools" / "fake_clis" / "samples"


def make_session(store: Store, description: str = "test session", *, parent: str | None = None,
                 depth: int = 0, tools: dict | None = None, age_days: float = 0,
                 branch: str | None = None, phase: str = "active", created_offset_s: float = 0):
    """Create a session and backdate / decorate its state as asked; returns the state."""
    from csa.state import ToolState

    _, state, _ = store.create(description=description, parent_session_id=parent, depth=depth,
                            git_branch=branch)
    when = datetime.now(UTC) - timedelta(days=age_days) + timedelta(seconds=created_offset_s)
    state.created_at = when
    state.last_accessed = when
    state.phase = phase
    for name, provider in (tools or {}).items():
        state.tools[name] = ToolState(provider_session_id=provider, updated_at=when)
    store.session(state.meta_session_id).save(state)
    return state


def invoke(*args, input=None):
    """Run the csa CLI in-process; returns the click Result (exit_code, stdout, stderr)."""
    runner = CliRunner()
    return runner.invoke(cli, list(args), input=input, catch_exceptions=False)
