"""`csa batch`: many tasks, each a child session of one batch session, on an executor.

    >>> from csa.batch.driver import run_batch
    >>> run_batch(Path("tasks.jsonl"), tool="codex", parallel=8).exit_code()
    0

    tasks.py     the JSONL file: Task, read_tasks (every line checked first)
    ledger.py    the batch session: found again on a re-run, task -> child mapping
    executor.py  the Executor interface (submit, completions, cancel) and TaskSpec
    local.py     LocalExecutor: a `csa run` process per task on this machine
    driver.py    run_batch: skip what is done, submit the rest, collect, Ctrl-C
    report.py    Outcome, Report (exit code, JSON), Progress (live count on stderr)
"""
