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

import functools
import os
from datetime import datetime
from pathlib import Path

from csa.batch.executor import Completion, Executor, TaskSpec, make_executor
from csa.batch.ledger import Ledger, task_done
from csa.batch.report import Outcome, Progress, Report
from csa.batch.tasks import Task, read_tasks
from csa.errors import CsaError
from csa.session import Session


def run_batch(path: Path, *, tool: str | None = None, parallel: int = 0,
              executor: str = "local", address: str | None = None,
              quiet: bool = False) -> Report:
    """Run (or continue) the batch in `path`; CsaError before anything runs when a line,
    a tool, the executor or the batch session is wrong. `parallel` 0: the executor's
    default (local: 4; ray: as many as the cluster's resources allow)."""
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
    try:
        check_engine(engine, store, {t.cd for t in tasks if t.cd})
        ledger = Ledger.open(store, path, count=len(tasks), parent=parent, depth=depth)
    except BaseException:
        engine.close()
        raise
    report = Report(ledger.id)
    progress = Progress(ledger.id, len(tasks), quiet=quiet)
    submitted: dict[str, tuple[Task, Session]] = {}
    stop_on_signals()
    try:
        submit_all(ledger, engine, tasks, tools, submitted, report, progress)
        progress.show(force=True)
        collect(engine, submitted, report, progress)
    except KeyboardInterrupt:
        report.interrupted = True
        ledger.request_cancel()
        cancel(engine, submitted, report, progress)
    finally:
        engine.close()
        progress.close()
        ledger.finish("interrupted" if report.interrupted else
                      "finished" if report.exit_code() == 0 else "failed", report.exit_code())
    return report


def stop_on_signals() -> None:
    """SIGTERM and SIGHUP stop a batch the way Ctrl-C does (tasks interrupted, recorded)."""
    import signal
    import threading

    def interrupt(_signum, _frame):
        raise KeyboardInterrupt

    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, interrupt)


def check_engine(engine: Executor, store, dirs: set[str]) -> None:
    """Let the engine check, before any task, that where tasks run sees the state dir
    (a token file written here must be read there) and the project."""
    import secrets

    from csa.batch.ray_worker import TOKEN_DIR
    from csa.fsutil import ensure_dir

    token = secrets.token_hex(8)
    path = ensure_dir(store.base / TOKEN_DIR) / token
    path.write_text(token)
    try:
        for cwd in [os.getcwd(), *sorted(dirs)]:
            engine.check({"token": token, "base": str(store.base), "project": str(store.root),
                          "cwd": cwd})
    finally:
        path.unlink(missing_ok=True)


def task_tools(tasks: list[Task], tool: str | None, cfg) -> list[str]:
    """Each task's tool (its own, else --tool, else the config's default); every one
    must be installed before anything runs."""
    from csa.turn.choose import pick_tool, resolve_binary

    default = pick_tool(tool or cfg.get("default_tool") or "claude-code", cfg).name
    names = [t.tool or default for t in tasks]
    for name in sorted(set(names)):
        resolve_binary(pick_tool(name, cfg), cfg)  # an ACP agent too (csa.acp)
    return names


def submit_all(ledger: Ledger, engine: Executor, tasks: list[Task], tools: list[str],
               submitted: dict[str, tuple[Task, Session]], report: Report,
               progress: Progress) -> None:
    """Skip the tasks already done; make or reuse the others' children and submit them
    (into `submitted`, key -> (task, child))."""
    for task, tool in zip(tasks, tools, strict=True):
        child, store = ledger.child(task)
        if task_done(child):
            report.outcomes.append(outcome_of(task, child, None))
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
                    cwd=os.getcwd(), env=env, memory=memory_hint(child, tool) or None,
                    session_id=child.id, project=str(child.store.root),
                    cancel_file=str(ledger.cancel_path))


def memory_hint(child: Session, tool: str) -> int:
    """The tool's P95 peak memory in this project (usage stats), 0 when unknown."""
    return _p95(str(child.store.dir), tool)


@functools.cache
def _p95(project_dir: str, tool: str) -> int:
    from csa.usage import load_stats, p95

    return p95(load_stats(Path(project_dir)).get(tool, []))


def collect(engine: Executor, submitted: dict, report: Report, progress: Progress) -> None:
    for done in engine.completions():
        task, child = submitted[done.key]
        report.outcomes.append(outcome_of(task, child, done, since=report.started))
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
                                                                      error="interrupted"),
                                              since=report.started))


def outcome_of(task: Task, child: Session | None, done: Completion | None, *,
               since: datetime | None = None) -> Outcome:
    """A task's outcome: its child's run record when that is from this batch (ended after
    `since`; a skipped task: `since` None), else how its process ended."""
    name = task.name or " ".join(task.prompt.split())[:40]
    out = Outcome(line=task.line, key=task.key, name=name, status="error",
                  session_id=child.id if child else None, node=done.node if done else None)
    run = None
    if child is not None:
        try:
            run = child.load().run
        except CsaError as e:
            out.error = e.message
    ended = run.finished_at if run is not None and run.status != "running" else None
    if ended is not None and (since is None or ended >= since):
        out.status = "ok" if run.status == "finished" and run.exit_code == 0 else run.status
        out.exit_code = run.exit_code
        if run.started_at:
            out.duration_s = round((ended - run.started_at).total_seconds(), 3)
        if out.status != "ok":
            out.error = run.error or (done.stderr_tail if done else None) or None
        if since is None:
            out.status = "skipped"
    elif done is not None:
        out.status = "not run" if done.error in ("cancelled", "interrupted") else "error"
        out.exit_code = done.exit_code
        out.error = done.error or done.stderr_tail or out.error
    return out
