"""`csa hooks install|uninstall|run`: csa's journal hooks for Claude Code."""

from __future__ import annotations

import sys

import click

from csa.cli import LazyGroup
from csa.cli.output import emit_json, json_option

EVENT_NAMES = ("pre-compact", "session-start", "user-prompt-submit")


@click.group(cls=LazyGroup)
def hooks():
    """Claude Code hooks that keep the session journal across compactions.

    \b
    Examples:
      csa hooks install                # into ~/.claude/settings.json (or $CLAUDE_CONFIG_DIR)
      csa hooks install --dry-run --json
      csa hooks uninstall
    """


@hooks.command("install")
@click.option("--claude", is_flag=True, help="Claude Code's user settings (the only target; "
              "the default).")
@click.option("--dry-run", is_flag=True, help="Change nothing; say what would be added.")
@json_option
def install(claude, dry_run, as_json):
    """Add the PreCompact, SessionStart and UserPromptSubmit hooks to Claude Code's settings.

    Merges into the existing settings.json (other hooks and keys untouched), keeps a
    backup of the previous file, and changes nothing when csa's hooks are already there.

    \b
    Examples:
      csa hooks install --claude
      CLAUDE_CONFIG_DIR=~/.claude-work csa hooks install
    """
    from csa.hooks_install import install as do_install

    _say(do_install(dry_run=dry_run), "added", as_json)


@hooks.command("uninstall")
@click.option("--claude", is_flag=True, help="Claude Code's user settings (the default).")
@click.option("--dry-run", is_flag=True, help="Change nothing; say what would be removed.")
@json_option
def uninstall(claude, dry_run, as_json):
    """Remove csa's hooks (and only them) from Claude Code's settings, keeping a backup.

    \b
    Examples:
      csa hooks uninstall
    """
    from csa.hooks_install import uninstall as do_uninstall

    _say(do_uninstall(dry_run=dry_run), "removed", as_json)


def _say(report: dict, key: str, as_json: bool) -> None:
    """The report as JSON, or one line on stderr: what changed, what was there, the backup."""
    if as_json:
        emit_json(report)
        return
    verb = {"added": "would add", "removed": "would remove"}[key] if report["dry_run"] else key
    click.echo(f"{report['settings']}: {verb} {', '.join(report[key]) or 'nothing'}"
               + (f"; already there: {', '.join(report['present'])}"
                  if report.get("present") else "")
               + (f"; backup: {report['backup']}" if report["backup"] else ""), err=True)


@hooks.command("run")
@click.argument("event", required=False, type=click.Choice(EVENT_NAMES, case_sensitive=False))
def run(event):
    """Run one hook: Claude Code's hook JSON on stdin, the context to add on stdout.

    EVENT defaults to the input's hook_event_name. Always exits 0: bad input, no project
    or no journal prints nothing.

    \b
    Examples:
      echo '{"hook_event_name":"SessionStart","cwd":"'$PWD'"}' | csa hooks run
      echo '{"prompt":"where were we?","cwd":"'$PWD'"}' | csa hooks run user-prompt-submit
    """
    from csa.claude_hooks import handle

    raw = "" if sys.stdin is None or sys.stdin.isatty() else sys.stdin.read()
    out = handle(event, raw)
    if out:
        click.echo(out)
