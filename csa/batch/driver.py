"""`csa batch FILE`: run every task of a JSONL file as a child session of one batch session.

    >>> report = run_batch(Path("tasks.jsonl"), tool="codex", parallel=8)
    >>> report.exit_code(), report.counts()
    (0, {'ok': 48, 'skipped': 2})

Steps: read and check every line (a bad one stops everything, naming its line); open
the file's batch session (found again on a re-run) and lock it; a task whose child
already finished with exit code 0 is skipped; every other task gets its child session
(made now, or the one an interrupted run made) and is submitted to the executor as
`csa run --session CHILD`; completions are recorded as they come. Ctrl-C interrupts
the running tasks (each records its turn as interrupted), drops the queued ones, and
a re-run continues with them.
"""

from __future__ import annotations

import os
from pathlib import Path

from csa.batch.executor import Completion, Executor, TaskSpec, make_executor
from csa.batch.ledger import Ledger, task_done
from csa.batch.report import Outcome, Progress, Report
from csa.batch.tasks import Task, read_tasks
from csa.session import Session


def run_batch(path: Path, *, tool: str | None = None, parallel: int = 4,
              executor: str = "local", address: str | None = None,
              quiet: bool = False) -> Report:
    """Run (or continue) the batch in `path`; CsaError before anything runs when a line,
    a tool or the batch session is wrong."""
    from csa import genealogy
    from csa.config import load_config
    from csa.store import Store
    from csa.turn.choose import project_cd

    tasks = read_tasks(path)
    store = Store.open(project_cd(None))
    cfg = load_config(store.root)
    tools = task_tools(tasks, tool, cfg)
    parent, depth = genealogy.parent_from_env(os.environ)
    genealogy.check_depth(depth + 1, int(cfg.get("max_recursion_depth", 5)))
    engine = make_executor(executor, parallel=parallel, address=address,
                           tool_limits={t: cfg.tool(t).max_concurrent or 0 for t in set(tools)})
    ledger = Ledger.open(store, path, count=len(tasks), parent=parent, depth=depth)
    report = Report(ledger.id)
    progress = Progress(ledger.id, len(tasks), quiet=quiet)
    submitted: dict[str, tuple[Task, Session]] = {}
    try:
        submit_all(ledger, engine, tasks, tools, submitted, report, progress)
        progress.show(force=True)
        collect(engine, submitted, report, progress)
    except KeyboardInterrupt:
        report.interrupted = True
        cancel(engine, submitted, report, progress)
    finally:
        engine.close()
        progress.close()
        ledger.finish("interrupted" if report.interrupted else
                      "finished" if report.exit_code() == 0 else "failed", report.exit_code())
    return report


def task_tools(tasks: list[Task], tool: str | None, cfg) -> list[str]:
    """Each task's tool (its own, else --tool, else the config's default); every one
    must be installed before anything runs."""
    from csa.tools import get_tool
    from csa.turn.choose import resolve_binary

    default = get_tool(tool or cfg.get("default_tool") or "claude-code").name
    names = [t.tool or default for t in tasks]
    for name in sorted(set(names)):
        resolve_binary(get_tool(name), cfg)
    return names


def submit_all(ledger: Ledger, engine: Executor, tasks: list[Task], tools: list[str],
               submitted: dict[str, tuple[Task, Session]], report: Report,
               progress: Progress) -> None:
    """Skip the tasks already done; make or reuse the others' children and submit them
    (into `submitted`, key -> (task, child))."""
    for task, tool in zip(tasks, tools):
        child, store = ledger.child(task)
        if task_done(child):
            report.outcomes.append(outcome_of(task, child, None, skipped=True))
            progress.ended(report.outcomes[-1])
            continue
        if child is None:
            child = ledger.make_child(task, store)
        engine.submit(task_spec(ledger, task, tool, child))
        submitted[task.key] = (task, child)
        progress.submitted(1)


def task_spec(ledger: Ledger, task: Task, tool: str, child: Session) -> TaskSpec:
    """`csa run --session CHILD` nested in the batch session (CSA_* genealogy)."""
    from csa.selfbin import csa_bin

    binary = csa_bin()
    argv = [binary, "run", "--session", child.id, "--tool", tool, "--json", "--quiet", "--wait"]
    if task.model:
        argv += ["--model", task.model]
    if task.cd:
        argv += ["--cd", task.cd]
    env = {"CSA_SESSION_ID": ledger.id, "CSA_DEPTH": str(ledger.state.depth + 1),
           "CSA_PROJECT_ROOT": str(ledger.store.root), "CSA_BIN": binary}
    return TaskSpec(key=task.key, tool=tool, argv=[*argv, "-"], prompt=task.prompt,
                    cwd=os.getcwd(), env=env)


def collect(engine: Executor, submitted: dict, report: Report, progress: Progress) -> None:
    for done in engine.completions():
        task, child = submitted[done.key]
        report.outcomes.append(outcome_of(task, child, done))
        progress.ended(report.outcomes[-1])


def cancel(engine: Executor, submitted: dict, report: Report, progress: Progress) -> None:
    """Ctrl-C: interrupt what runs, drop what waits, and record how each ended; a second
    Ctrl-C stops waiting (the tasks' own csa runs still record their turns)."""
    engine.cancel()
    try:
        collect(engine, submitted, report, progress)
    except KeyboardInterrupt:
        pass
    seen = {o.key for o in report.outcomes}
    for key, (task, child) in submitted.items():
        if key not in seen:
            report.outcomes.append(outcome_of(task, child, Completion(key, None,
                                                                      error="interrupted")))


def outcome_of(task: Task, child: Session | None, done: Completion | None, *,
               skipped: bool = False) -> Outcome:
    """A task's outcome from its child's run record (what csa run recorded), else from
    the process's end."""
    name = task.name or " ".join(task.prompt.split())[:40]
    out = Outcome(line=task.line, key=task.key, name=name, status="error",
                  session_id=child.id if child else None,
                  node=done.node if done else None)
    run = None
    if child is not None:
        from csa.errors import CsaError

        try:
            run = child.load().run
        except CsaError as e:
            out.error = e.message
    if run is not None and run.status != "running":
        out.status = "ok" if run.status == "finished" and run.exit_code == 0 else run.status
        out.exit_code = run.exit_code
        if run.started_at and run.finished_at:
            out.duration_s = round((run.finished_at - run.started_at).total_seconds(), 3)
        out.error = run.error if out.status != "ok" else None
    if skipped:
        out.status = "skipped"
    elif done is not None and (run is None or done.exit_code is None):
        out.status = "not run" if done.error in ("cancelled", "interrupted") else "error"
        out.exit_code = done.exit_code
        out.error = done.error or done.stderr_tail or out.error
    if out.status == "failed" and not out.error and done is not None:
        out.error = done.stderr_tail or None
    return out
