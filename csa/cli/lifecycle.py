"""`csa session compress | checkpoint | checkpoints | log | verify | clean | wait | kill`,
`csa gc` and `csa events`: the session lifecycle."""

from __future__ import annotations

import sys

import click

from csa.cli.output import emit_json, human_bytes, json_option, key_values, write_text
from csa.cli.session import cd_option, open_session, open_store, session_option


@click.command("compress")
@session_option()
@click.option("--tool", help="The tool whose context to compact (default: the session's last).")
@click.option("--timeout", type=float, metavar="SECONDS", help="Limit for each compaction turn.")
@json_option
@cd_option
def compress(session, tool, timeout, as_json, cd):
    """Compact the tool's context: natively (claude-code `/compact`) or by rollover.

    Rollover (codex, gemini-cli, opencode): the tool summarizes the conversation,
    then a fresh provider session is seeded with that summary; the old provider
    id is kept. Success moves the session to `available`.

    \b
    Examples:
      csa session compress -s 01JH4Q
      csa session compress -s 01JH4Q --json
    """
    from csa.compress import compress as do_compress

    res = do_compress(open_session(cd, session), tool=tool, timeout=timeout)
    if as_json:
        emit_json(res.to_json())
    else:
        write_text(key_values([("session", res.session_id), ("tool", res.tool),
                               ("method", res.method), ("result", res.message),
                               ("provider id", f"{res.old_provider_session_id} -> "
                                f"{res.new_provider_session_id}"),
                               ("compactions", res.compaction_count)]))
    sys.exit(0 if res.success else 1)


@click.command("checkpoint")
@session_option()
@click.option("-m", "--message", "note", default="", metavar="NOTE", help="A note to record.")
@json_option
@cd_option
def checkpoint(session, note, as_json, cd):
    """Record a checkpoint: commit the session's metadata and attach a git note.

    \b
    Examples:
      csa session checkpoint -s 01JH4Q -m "before the risky refactor"
    """
    from csa.checkpoint import checkpoint as do_checkpoint

    data = do_checkpoint(open_session(cd, session), note=note)
    if as_json:
        emit_json(data)
    else:
        click.echo(f"Checkpoint {data['commit'][:12]} for session {data['session_id']} "
                   f"(transcript seq {data['transcript_last_seq']})")


@click.command("checkpoints")
@session_option(required=False)
@json_option
@cd_option
def checkpoints(session, as_json, cd):
    """List checkpoints, newest first: the whole project's, or one session's.

    \b
    Examples:
      csa session checkpoints
      csa session checkpoints -s 01JH4Q --json
    """
    from csa.checkpoint import list_checkpoints
    from csa.cli.output import table

    store = open_store(cd)
    cps = list_checkpoints(store, store.resolve(session).id if session is not None else None)
    if as_json:
        emit_json(cps)
        return
    if not cps:
        click.echo("No checkpoints yet. Create one with: csa session checkpoint -s ID", err=True)
        return
    rows = [[c["commit"][:12], c.get("committed_at", ""), c.get("session_id", "?")[:10],
             c.get("phase", ""), c.get("turn_count", ""), c.get("transcript_last_seq", ""),
             c.get("note", "")] for c in cps]
    write_text(table(["COMMIT", "WHEN", "SESSION", "PHASE", "TURNS", "SEQ", "NOTE"], rows))


@click.command("log")
@session_option()
@json_option
@cd_option
def log(session, as_json, cd):
    """The git history of the session's checkpoints and turn-end commits, after the project
    commits its turns made (--json: those have "project_commit": true).

    \b
    Examples:
      csa session log -s 01JH4Q
    """
    from csa.attribution import session_commits
    from csa.checkpoint import session_log
    from csa.cli.orchestration import commit_line

    handle = open_session(cd, session)
    sid = handle.id
    entries = session_log(handle)
    commits = session_commits(handle)
    if as_json:
        emit_json(entries + [{**c, "project_commit": True} for c in commits])
        return
    if commits:
        write_text("Project commits made by this session:\n"
                   + "".join(f"  {commit_line(c)}\n" for c in commits))
    if not entries:
        click.echo(f"No history for {sid} yet (csa session checkpoint -s {sid[:10]})", err=True)
        return
    lines = []
    for e in entries:
        lines.append(f"{e['commit'][:12]}  {e['committed_at']}  {e['subject']}")
        cp = e.get("checkpoint")
        if cp:
            lines.append(f"    phase={cp.get('phase')} turns={cp.get('turn_count')} "
                         f"seq={cp.get('transcript_last_seq')}"
                         + (f" note={cp['note']}" if cp.get("note") else ""))
    write_text("\n".join(lines) + "\n")


@click.command("verify")
@session_option()
@json_option
@cd_option
def verify(session, as_json, cd):
    """Check the transcript against the last checkpoint's hash (exit 1 if altered).

    \b
    Examples:
      csa session verify -s 01JH4Q
    """
    from csa.checkpoint import verify as do_verify

    res = do_verify(open_session(cd, session))
    sid = res["session_id"]
    if as_json:
        emit_json(res)
    elif res["altered"]:
        click.echo(f"ALTERED: the transcript of {sid} does not match checkpoint "
                   f"{res['commit'][:12]} (up to seq {res['checkpoint_seq']})")
    else:
        click.echo(f"ok: transcript of {sid} matches checkpoint {res['commit'][:12]} "
                   f"up to seq {res['checkpoint_seq']}")
    sys.exit(1 if res["altered"] else 0)


all_projects_option = click.option(
    "--all-projects", is_flag=True,
    help="Every project under the state dir (what contrib/'s timer and cron job run).")


def _print_report(rep, as_json: bool, verb: str, summary: str | None = None) -> None:
    from csa.cli.output import table

    if as_json:
        emit_json(rep.to_json())
        return
    would = "would be " if rep.dry_run else ""
    lines = []
    if rep.removed:
        rows = [[r["id"], r.get("last_accessed") or "-", human_bytes(r.get("bytes", 0)),
                 (r.get("description") or "")[:60]] for r in rep.removed]
        lines.append(table(["SESSION", "LAST ACCESSED", "SIZE", "DESCRIPTION"], rows).rstrip())
    for k in rep.kept:
        if k["reason"] not in ("other tool",):
            lines.append(f"kept {k['id']}: {k['reason']}")
    for name in rep.orphan_dirs:
        lines.append(f"{would}removed orphan dir {name}")
    for name in rep.stale_locks:
        lines.append(f"{would}removed stale lock {name}")
    for name in rep.stale_temps:
        lines.append(f"{would}removed stale temp file {name}")
    for path in rep.ephemeral_dirs:
        lines.append(f"{would}removed leaked --ephemeral dir {path}")
    for sid in rep.retired:
        lines.append(f"{would}retired {sid}")
    if lines:
        write_text("\n".join(lines) + "\n")
    if summary is not None:
        click.echo(summary, err=True)
        return
    click.echo(f"{'Dry run: ' if rep.dry_run else ''}{len(rep.removed)} session(s) {would}"
               f"{verb}, {human_bytes(rep.bytes_freed)} {'would be ' if rep.dry_run else ''}"
               f"freed" + (f"; archived to {rep.archive_dir}" if rep.archive_dir and
                           not rep.dry_run and rep.removed else ""), err=True)


@click.command("clean")
@click.option("--days", type=float, required=True, metavar="N",
              help="Remove sessions not accessed for more than N days (0: all not in use).")
@click.option("--dry-run", is_flag=True, help="Change nothing; list what would be removed.")
@click.option("--tool", "tools", metavar="a,b", help="Only sessions that used one of these tools.")
@click.option("--archive", type=click.Path(file_okay=False), metavar="DIR",
              help="Move each removed session into DIR as <ULID>.tar.gz instead of deleting.")
@all_projects_option
@json_option
@cd_option
def clean(days, dry_run, tools, archive, all_projects, as_json, cd):
    """Remove sessions not accessed for more than N days.

    Never removes a live (locked) session, nor an ancestor of a session that is
    kept. Ends with a summary (sessions, bytes freed).

    \b
    Examples:
      csa session clean --days 30 --dry-run
      csa session clean --days 30 --tool codex
      csa session clean --days 90 --archive ~/csa-archive
      csa session clean --days 30 --all-projects
    """
    from pathlib import Path

    from csa.gc import clean as do_clean
    from csa.gc_all import every_project

    rep = every_project(open_store(cd), do_clean, only_this=not all_projects, days=days,
                        dry_run=dry_run, tools=(tools or "").split(","),
                        archive=Path(archive).expanduser().absolute() if archive else None)
    _print_report(rep, as_json, "removed")


@click.command("restore")
@click.argument("archive", type=click.Path(dir_okay=False))
@click.option("--as-new", is_flag=True, help="Give the restored session a new id (a copy).")
@cd_option
def restore(archive, as_new, cd):
    """Restore a session from a `clean --archive` tarball; prints its id.

    Every member is checked before anything is written (regular files and dirs
    under <ULID>/ only); the session appears complete or not at all.

    \b
    Examples:
      csa session restore ~/csa-archive/01JH4Q0000000000000000000.tar.gz
      csa session restore --as-new ~/csa-archive/01JH4Q0000000000000000000.tar.gz
    """
    from pathlib import Path

    from csa.restore import restore as do_restore

    click.echo(do_restore(open_store(cd), Path(archive).expanduser().absolute(), as_new=as_new))


@click.command("gc")
@click.option("--dry-run", is_flag=True, help="Change nothing; list what would be done.")
@click.option("--max-bytes", metavar="SIZE",
              help="Evict transcripts of the oldest digested sessions until under SIZE (e.g. 500M).")
@click.option("--force", is_flag=True, help="With --max-bytes, also evict undigested transcripts.")
@all_projects_option
@json_option
@cd_option
def gc(dry_run, max_bytes, force, all_projects, as_json, cd):
    """Remove stale locks and orphan dirs, retire long-idle sessions, enforce a size budget.

    Retiring uses config `gc.retire_after_days` (0: never). Orphan dirs are
    session dirs without state.toml (and unfinished creations) older than
    `gc.orphan_dir_age_s`. The temp dir of a `run --ephemeral` whose csa was killed
    is removed too (as by `csa session clean`).

    \b
    Examples:
      csa gc --dry-run
      csa gc
      csa gc --max-bytes 2G
      csa gc --all-projects
    """
    from csa.gc import collect
    from csa.gc_all import every_project

    rep = every_project(open_store(cd), collect, only_this=not all_projects, dry_run=dry_run,
                        max_bytes=max_bytes, force=force)
    _print_report(rep, as_json, "removed", summary=_gc_summary(rep))
    budget = rep.budget
    if budget is None:
        return
    from csa.cli.budgets import print_evictions, unmet_budget_fails

    if not as_json:
        print_evictions(budget, dry_run)
    unmet_budget_fails(budget)


def _gc_summary(rep) -> str:
    """`gc: 2 stale locks and 1 orphan dir removed, 0 sessions retired, 3.1 KiB freed`."""

    def n(count: int, what: str) -> str:
        return f"{count} {what}{'' if count == 1 else 's'}"

    would = "would be " if rep.dry_run else ""
    return (f"{'Dry run: ' if rep.dry_run else ''}gc: {n(len(rep.stale_locks), 'stale lock')}, "
            f"{n(len(rep.orphan_dirs), 'orphan dir')} and {n(len(rep.stale_temps), 'temp file')} "
            f"{would}removed, {n(len(rep.retired), 'session')} {would}retired, "
            f"{human_bytes(rep.bytes_freed)} {would}freed")


@click.command("wait")
@session_option()
@click.option("--timeout", type=float, metavar="SECONDS",
              help="Give up after SECONDS (exit 124, the run goes on).")
@json_option
@cd_option
def wait(session, timeout, as_json, cd):
    """Wait until the session's run finishes, then print its result.

    Exit code: the run's exit code; 124 if --timeout passed first.

    \b
    Examples:
      sid=$(csa run --detach "long task") && csa session wait -s "$sid" --timeout 3600
    """
    from csa.detach import wait_for_run

    handle = open_session(cd, session)
    res = wait_for_run(handle, timeout=timeout)
    if res is None:
        click.echo(f"Session {handle.id} is still running after {timeout:g}s", err=True)
        sys.exit(124)
    if as_json:
        emit_json(res)
    elif res.get("final_text"):
        text = res["final_text"]
        write_text(text if text.endswith("\n") else text + "\n")
    sys.exit(int(res.get("exit_code", 0) or 0))


@click.command("kill")
@session_option()
@click.option("--grace", type=float, default=5.0, show_default=True, metavar="SECONDS",
              help="Seconds between SIGTERM and SIGKILL.")
@json_option
@cd_option
def kill(session, grace, as_json, cd):
    """Stop a session's running tool (SIGTERM to its csa, then SIGKILL after a grace).

    \b
    Examples:
      csa session kill -s 01JH4Q
    """
    from csa.detach import kill_run

    res = kill_run(open_session(cd, session), grace=grace)
    if as_json:
        emit_json(res)
    else:
        click.echo(f"Stopped session {res['session_id']}" + (" (forced)" if res["forced"] else ""), err=True)
    sys.exit(0 if res["stopped"] else 1)


@click.command("events")
@click.option("--since", metavar="WHEN", help="Only events since a duration ago (2d) or a date.")
@click.option("--type", "types", metavar="a,b", help="Only these event types.")
@session_option(required=False)
@click.option("--limit", type=int, metavar="N", help="Only the last N events.")
@click.option("--all-projects", is_flag=True,
              help="Every project's events under the state dir, merged by time (with `project`).")
@json_option
@cd_option
def events(since, types, session, limit, all_projects, as_json, cd):
    """Show the project's events log (session_start, session_end, resume, compress,
    checkpoint, lock_conflict, clean, gc), oldest first. Turn events name the tool and
    its own conversation id (provider_session_id), to find the tool's transcript.

    \b
    Examples:
      csa events --since 1d
      csa events --type lock_conflict,clean --json
      csa events --all-projects --type session_start --since 7d --json
    """
    from csa.cli.output import emit_jsonl
    from csa.events import query

    evs = query(open_store(cd), since=since, types=types, session=session,
                all_projects=all_projects)
    if limit is not None:
        evs = evs[-limit:] if limit > 0 else []
    if as_json:
        emit_jsonl(evs)
        return
    lines = []
    for e in evs:
        rest = " ".join(f"{k}={v}" for k, v in e.items()
                    if k not in ("ts", "type", "pid") and v is not None)
        lines.append(f"{e.get('ts', '')}  {e.get('type', ''):<14} {rest}")
    if lines:
        write_text("\n".join(lines) + "\n")
