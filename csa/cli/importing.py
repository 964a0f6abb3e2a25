"""`csa import TOOL`: the AI tools' own transcripts as csa sessions.

    csa import claude --since 2d --dry-run     # list what would be imported, change nothing
"""

from __future__ import annotations

import click

from csa.cli.output import ToolName, emit_json, json_option, table, write_text
from csa.cli.session import cd_option


@click.command("import")
@click.argument("source", type=ToolName(), metavar="TOOL")
@click.option("--since", metavar="WHEN",
              help="Only source sessions active within this long (2d, 36h) or since a date.")
@click.option("--dry-run", is_flag=True, help="Change nothing; list what would be imported.")
@click.option("--path", "paths", multiple=True, metavar="P",
              type=click.Path(exists=True, dir_okay=True, file_okay=True),
              help="Read this file or directory instead of the tool's own store (repeatable).")
@click.option("--all-projects", is_flag=True,
              help="Import every session into the project of its working directory, "
                   "not only this project's.")
@json_option
@cd_option
def import_(source, since, dry_run, paths, all_projects, as_json, cd):
    """Import the sessions an AI tool ran on its own (outside csa) as csa sessions.

    TOOL is claude-code (or claude), codex, gemini-cli (or gemini), opencode, or a
    third-party tool that has an importer. Each tool session becomes one csa
    session (sub-agents become child sessions) whose provider id lets
    `csa run --session ID` resume the tool's conversation. Re-running imports only
    what is new: a session that grew gets its new events appended.

    \b
    Examples:
      csa import claude                        # this project's claude sessions
      csa import codex --since 2d --dry-run
      csa import gemini --all-projects --json
      csa import opencode --path export.json   # `opencode export <id>` output
    """
    from collections import Counter

    from csa.importers import import_sessions

    report = import_sessions(source, cd=cd, paths=paths, since=since, dry_run=dry_run,
                             all_projects=all_projects)
    if as_json:
        emit_json(report.to_json())
        return
    if report.sessions:
        rows = []
        for s in report.sessions:
            sid = s["session_id"] or "(new)"
            if s["parent_session_id"]:
                sid = f"└─ {sid}"
            who = (s["agent_id"] and f"agent {s['agent_id']}") or s["provider_session_id"] or "-"
            rows.append([s["action"], sid, who, s["events"], s.get("description") or ""])
        head = ["WOULD" if report.dry_run else "ACTION", "SESSION", "PROVIDER ID", "EVENTS",
                "DESCRIPTION"]
        write_text(table(head, rows))
    for b in report.bad:
        click.echo(f"skipped corrupt line {b}", err=True)
    if report.bad_lines > len(report.bad):
        click.echo(f"... and {report.bad_lines - len(report.bad)} more corrupt lines", err=True)
    skipped = Counter(_kind(s["reason"]) for s in report.skipped_sources
                      if s["reason"] != "no activity since --since")
    if skipped:  # one line, not one per file (there can be thousands)
        click.echo(f"skipped {sum(skipped.values())} source(s): "
                   + ", ".join(f"{n} {why}" for why, n in skipped.most_common())
                   + " (--json lists each)", err=True)
    for p in report.problems:
        click.echo(f"problem: {p}", err=True)
    click.echo(report.summary(), err=True)


def _kind(reason: str) -> str:
    """A skip reason without its particulars (ids, paths), so like reasons count together."""
    import re

    kind = re.sub(r" in session \S+$", "", re.sub(r"\s*\([^)]*\)", "", reason))
    return "invalid provider id" if kind.startswith("provider id ") else kind

