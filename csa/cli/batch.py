"""`csa batch FILE`: run a JSONL file of tasks, each a child session of one batch session."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from csa.cli.output import ToolName
from csa.errors import UsageError


@click.command("batch")
@click.argument("file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--tool", type=ToolName(), metavar="TOOL",
              help="Tool for the tasks that name none (default: config, else claude-code).")
@click.option("--parallel", "-j", type=click.IntRange(min=1), metavar="N",
              help="Tasks running at once (default: 4 local; ray: as the cluster allows); "
                   "each tool also stays within its max_concurrent.")
@click.option("--executor", type=click.Choice(["local", "ray"]), default="local",
              show_default=True,
              help="Where tasks run: local processes, or Ray tasks on a cluster (csa[ray]).")
@click.option("--ray-address", metavar="ADDR",
              help="Ray cluster to use with --executor ray (default: RAY_ADDRESS, else a "
                   "local Ray instance).")
@click.option("-q", "--quiet", is_flag=True, help="No live count on stderr.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object with every task's outcome.")
def batch(file, tool, parallel, executor, ray_address, quiet, as_json):
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
      csa batch tasks.jsonl --executor ray --ray-address 10.0.0.5:6379
      csa session list --tree                      # the batch session and its tasks
    \b
    tasks.jsonl:
      {"prompt": "add type hints to src/util.py", "name": "hints-util"}
      {"prompt": "review the auth module", "tool": "gemini-cli", "cd": "services/auth"}
    """
    from csa.batch.driver import run_batch

    if ray_address and executor != "ray":
        raise UsageError("--ray-address goes with --executor ray")
    report = run_batch(file, tool=tool, parallel=parallel or 0, executor=executor,
                       address=ray_address, quiet=quiet)
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
