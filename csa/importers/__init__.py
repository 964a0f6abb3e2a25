"""Import the AI CLIs' own transcripts as csa sessions (`csa import claude|codex|gemini|opencode`).

    >>> report = import_sessions("codex", cd="/home/me/proj")     # this project's codex sessions
    >>> report.created, report.updated, report.events
    (3, 1, 412)
    >>> import_sessions("claude", all_projects=True, dry_run=True).sessions[0]["action"]
    'create'

Each session a tool ran on its own (outside csa) becomes one csa session in the project of
its working directory: `tools.<tool>.provider_session_id` is the tool's id, so
`csa run --session <ULID>` resumes the tool's own conversation. The transcript holds
normalized, redacted `imported` events (csa.catalogue.imported):

    {"type": "imported", "role": "user" | "assistant" | "tool_call" | "tool_result" | "system",
     "text": ..., "source": "claude", "source_ts": <original timestamp>,
     "name": <tool name, for tool_call>, "is_error": bool, "usage": {...}, "model": ..., "id": ...}

and `state.extra["digest"]` summarises them (csa.digest). Provider-native sub-agents
(claude sidechains, opencode child sessions) become child csa sessions.

Re-running is idempotent: `<project state dir>/import/cursors.json` remembers, per source,
how far it was read (size, mtime_ns, byte offset, csa session id, provider id). A source
that grew gets only its new lines, appended to the same session. The same record is kept in
each session's `state.extra["import"]`, so a lost cursor file never duplicates a session.

Each tool's reader lives with the tool (`csa/tools/<tool>/importer.py`, a `Reader` from
`csa/importers/base.py`, named by the tool's `importer` attribute): `discover()` finds the
tool's sessions cheaply, `read()` normalizes what is new since the cursor. This package holds
the machinery every tool shares and runs the import. Provider ids read from the tool's files
must have the tool's id format (`Tool.valid_id`); a source whose id does not is skipped.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from csa.errors import UsageError
from csa.importers.base import Reader
from csa.importers.records import Report
from csa.tools.base import Tool

__all__ = ["Report", "get_reader", "import_sessions"]


def get_reader(name: str) -> tuple[Tool, Reader]:
    """Tool `name` (any name or alias csa.tools accepts) and its importer."""
    from csa.tools import get_tool

    tool = get_tool(name)
    reader = tool.reader()
    if reader is None:
        raise UsageError(f"{tool.name} has no importer: csa cannot read its own store")
    return tool, reader


def import_sessions(source: str, *, cd: str | None = None, paths: Iterable[str] = (),
                    since: str | None = None, dry_run: bool = False,
                    all_projects: bool = False) -> Report:
    """Import `source`'s sessions (see the module docstring); returns the report."""
    from csa.importers.run import ImportRun

    return ImportRun(*get_reader(source), cd=cd, paths=[Path(p).expanduser() for p in paths],
                     since=since, dry_run=dry_run, all_projects=all_projects).run()
