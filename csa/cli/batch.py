"""`csa batch FILE`: run a JSONL file of tasks, each a child session of one batch session."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from csa.cli.output import ToolName


@click.command("batch")
@click.argument("file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--tool", type=ToolName(), metavar="TOOL",
              help="Tool for the tasks that name none (default: config, else claude-code).")
@click.option("--parallel", "-j", type=click.IntRange(min=1), default=4, show_default=True,
              help="Tasks running at once (each tool also stays within its max_concurrent).")
@click.option("--executor", type=click.Choice(["local"]), default="local", show_default=True,
              help="Where tasks run: local processes.")
@click.option("-q", "--quiet", is_flag=True, help="No live count on stderr.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object with every task's outcome.")
def batch(file, tool, parallel, executor, quiet, as_json):
    """Run every task of FILE (JSONL) as a child session of one batch session.

    Each line is a JSON object: "prompt" (required), and optional "tool",
    "name", "model" and "cd" (a directory; relative to where csa batch runs).
    Every line is checked before anything runs. Running FILE again skips the
    tasks that already succeeded (a task is its line's content) and continues
    the rest in the same child sessions. Ctrl-C interrupts the running tasks
    (recorded as interrupted) and starts no more. Exit code: 0 only if every
    task succeeded; 130 when interrupted; else 1.

    \b
    Examples:
      csa batch tasks.jsonl --tool codex --parallel 8
      csa batch tasks.jsonl --json | jq '.tasks[] | select(.status != "ok")'
      csa session list --tree                      # the batch session and its tasks
    \b
    tasks.jsonl:
      {"prompt": "add type hints to src/util.py", "name": "hints-util"}
      {"prompt": "review the auth module", "tool": "gemini-cli", "cd": "services/auth"}
    """
    from csa.batch.driver import run_batch

    report = run_batch(file, tool=tool, parallel=parallel, executor=executor, quiet=quiet)
    if as_json:
        from csa.cli.output import emit_json

        emit_json(report.to_json())
    else:
        from csa.cli.output import table, write_text

        rows = [(o.line, o.name, o.status, "" if o.exit_code is None else o.exit_code,
                 o.session_id or "", o.error or "")
                for o in sorted(report.outcomes, key=lambda o: o.line)]
        write_text(table(["LINE", "NAME", "STATUS", "EXIT", "SESSION", "ERROR"], rows))
        counts = ", ".join(f"{n} {s}" for s, n in sorted(report.counts().items()))
        click.echo(f"batch {report.batch_id}: {counts}", err=True)
    sys.exit(report.exit_code())
