"""`csa session ...`: listing, inspection and management of sessions."""

from __future__ import annotations

import functools
import os

import click

from csa.cli import LazyGroup
from csa.cli.output import (
    ToolName,
    emit_json,
    json_option,
    key_values,
    no_color_option,
    nonblank,
    table,
    write_text,
)
from csa.errors import UsageError
from csa.session import Session
from csa.store import Store

SESSION_LAZY = {
    "result": ("csa.cli.inspect", "result", "Show the last turn's outcome."),
    "logs": ("csa.cli.inspect", "logs", "Show the session transcript."),
    "artifacts": ("csa.cli.inspect", "artifacts", "List files under the session's output/."),
    "is-alive": ("csa.cli.inspect", "is_alive", "Working, stalled or not alive; exit 0 while alive."),
    "compress": ("csa.cli.lifecycle", "compress", "Compact the tool's context."),
    "checkpoint": ("csa.cli.lifecycle", "checkpoint", "Record a git-notes checkpoint."),
    "checkpoints": ("csa.cli.lifecycle", "checkpoints", "List checkpoints."),
    "log": ("csa.cli.lifecycle", "log", "Git history of the session's checkpoints."),
    "verify": ("csa.cli.lifecycle", "verify", "Check the transcript against the last checkpoint."),
    "clean": ("csa.cli.lifecycle", "clean", "Remove sessions not accessed for N days."),
    "restore": ("csa.cli.lifecycle", "restore", "Restore a session from a clean --archive tarball."),
    "wait": ("csa.cli.lifecycle", "wait", "Wait for a (detached) session's run to finish."),
    "kill": ("csa.cli.lifecycle", "kill", "Stop a session's running tool."),
    "search": ("csa.cli.searching", "search", "Full-text search across session transcripts."),
    "reindex": ("csa.cli.searching", "reindex", "Rebuild the search index from transcripts."),
    "scrub": ("csa.cli.scrubbing", "scrub", "Re-apply the current redaction rules to stored sessions."),
    "note": ("csa.cli.journaling", "note", "Append an entry to the session journal."),
    "rename": ("csa.cli.forking", "rename", "Name a session (or --clear its name)."),
    "fork": ("csa.cli.forking", "fork", "Start a new session from a session's conversation."),
    "export": ("csa.cli.forking", "export", "Print a session's transcript as md, html or jsonl."),
    "journal": ("csa.cli.journaling", "journal", "Show the session journal."),
    "diff": ("csa.cli.orchestration", "diff", "Show a session's changes (its worktree, or its commits)."),
}


def cd_option(f):
    return click.option("--cd", "cd", metavar="DIR", type=click.Path(file_okay=False),
                        help="Project directory (default: the current directory).")(f)


def session_option(required: bool = True, env_fallback: bool = False):
    """`-s/--session NAME_OR_ID` and `--last` (the newest last_accessed), which the
    command receives as `session` (the newest session's full id for --last)."""
    help_text = "Session name, id prefix (case-insensitive) or the tool's own conversation id."
    if env_fallback:
        help_text += " Default: $CSA_SESSION_ID (the session you run inside)."

    def decorate(f):
        @functools.wraps(f)
        def command(*args, last: bool = False, **kw):
            if last:
                if kw.get("session") is not None:
                    raise UsageError("-s/--session and --last cannot be combined")
                kw["session"] = Store.open(kw.get("cd")).newest().id
            elif required and not env_fallback and kw.get("session") is None:
                raise UsageError("Missing option -s/--session NAME_OR_ID (or --last)")
            return f(*args, **kw)

        command = click.option("--last", is_flag=True,
                               help="The session used most recently (newest last_accessed)."
                               )(command)
        return click.option("-s", "--session", "session", metavar="NAME_OR_ID",
                            help=help_text, callback=nonblank,
                            shell_complete=complete_session)(command)
    return decorate


def complete_session(ctx, param, incomplete):
    """Shell completion of `-s`: the project's session names and ids."""
    from click.shell_completion import CompletionItem

    from csa.names import completions

    cd = ctx.params.get("cd") if ctx is not None else None
    return [CompletionItem(value, help=help_) for value, help_ in completions(cd, incomplete)]


def open_store(cd: str | None) -> Store:
    return Store.open(cd)


def open_session(cd: str | None, session: str | None, *, env_fallback: bool = False) -> Session:
    """The session `-s` names in the project of `--cd` ($CSA_SESSION_ID with `env_fallback`)."""
    if session is None and env_fallback:
        session = os.environ.get("CSA_SESSION_ID")
    if session is None:
        raise UsageError("Missing option -s/--session NAME_OR_ID (or --last)")
    return Store.open(cd).resolve(session)


@click.group(cls=LazyGroup, lazy=SESSION_LAZY)
def session():
    """Inspect and manage sessions.

    \b
    Examples:
      csa session list --tree
      csa session show -s 01JH4Q --json
      csa session delete -s 01JH4Q
    """


@session.command("list")
@click.option("--tree", is_flag=True, help="Draw parents and children.")
@click.option("--tool", "tools", metavar="a,b", type=ToolName(many=True),
              help="Only sessions that used one of these tools (aliases work: claude, gemini).")
@click.option("--branch", metavar="B", help="Only sessions created on this git branch.")
@click.option("--status", metavar="STATUS",
              help="active, available, retired, running, died, failed, timeout, interrupted "
                   "or corrupt.")
@click.option("--since", metavar="WHEN", help="Accessed within this long (2d, 36h) or since a date.")
@click.option("--limit", type=int, metavar="N",
              help="At most N sessions (with --tree: the N newest trees).")
@click.option("--all-projects", is_flag=True, help="List sessions of every project.")
@json_option
@no_color_option
@cd_option
def list_(tree, tools, branch, status, since, limit, all_projects, as_json, cd):
    """List sessions, newest first.

    \b
    Examples:
      csa session list
      csa session list --tree
      csa session list --tool codex,claude-code --since 2d
      csa session list --json | jq '.[0].id'
    """
    from datetime import UTC, datetime

    from csa.genealogy import build_tree
    from csa.listing import SHORT_ID, list_sessions, short_ids, status_cell
    from csa.timeutil import ago

    store = open_store(cd)
    if tools:
        from csa.tools import check_name

        tools = ",".join(check_name(t) for t in tools.split(","))
    rows, known = list_sessions(store, tools=(tools or "").split(","), branch=branch,
                                status=status, since=since, limit=limit,
                                all_projects=all_projects, tree=tree)
    if tree:
        ordered = build_tree(rows, known)
    else:
        ordered = [(r, 0, False) for r in rows]
    costs = {}
    if tree:
        from csa.cost import money, tree_costs

        costs = tree_costs(ordered)
    if as_json:
        out = []
        for r, level, orphan in ordered:
            item = dict(r)
            if tree:
                item["level"] = level
                item["orphan"] = orphan
                item["cost_usd"], item["tree_cost_usd"] = costs[r["id"]]
            out.append(item)
        emit_json(out)
        return
    if not rows:
        filtered = tools or branch or status or since
        click.echo("No sessions match these filters." if filtered else
                   "No sessions found. Start one with: csa run \"your prompt\"", err=True)
        return
    short = short_ids(known)
    headers = ["ID", "STATUS", "TOOL", "TURNS", "ACCESSED", "BRANCH", "DESCRIPTION"]
    if all_projects:
        headers.insert(6, "PROJECT")
    if tree:
        headers.insert(4, "COST")
    named = any(r.get("name") for r in rows)
    if named:
        headers.insert(1, "NAME")
    body = []
    prefixes = tree_prefixes(ordered) if tree else []
    now = datetime.now(UTC)
    for i, (r, level, orphan) in enumerate(ordered):
        sid = short.get(r["id"], r["id"])
        if tree and level:
            sid = prefixes[i] + sid
        desc = r.get("error") if r.get("corrupt") else r.get("description", "")
        if orphan:
            desc = f"(orphan: parent {r['parent_session_id'][:SHORT_ID]} is gone) {desc}"
        if r.get("forked_from"):
            desc = f"(fork of {short.get(r['forked_from'], r['forked_from'][:SHORT_ID])}) {desc}"
        line = [sid, status_cell(r), ",".join(r.get("tools") or []) or "-", r.get("turn_count", 0),
                ago(r.get("last_accessed"), now), r.get("git_branch") or "-", _one_line(desc)]
        if all_projects:
            line.insert(6, r.get("project", ""))
        if tree:  # the row's cost with its descendants'
            line.insert(4, money(costs[r["id"]][1]))
        if named:
            line.insert(1, r.get("name") or "-")
        body.append(line)
    from csa import colour

    text = table(headers, body)
    write_text(colour.status_column(text) if colour.enabled() else text)


def _one_line(text: str | None, width: int = 80) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= width else text[: width - 1] + "…"


def tree_prefixes(ordered) -> list[str]:
    """The `│  ├─ └─` drawing in front of each row of a tree-ordered listing (one pass each way)."""
    n = len(ordered)
    last = [True] * n
    # Backwards: a row is the last child if no sibling follows before the parent level ends.
    seen_at: dict[int, bool] = {}
    for i in range(n - 1, -1, -1):
        level = ordered[i][1]
        last[i] = not seen_at.get(level, False)
        seen_at[level] = True
        for deeper in [lv for lv in seen_at if lv > level]:
            del seen_at[deeper]
    out = []
    stems: list[str] = []  # stems[k]: what a row at level k+1 draws for its ancestors
    for i, (_r, level, _o) in enumerate(ordered):
        if level == 0:
            out.append("")
            stems = [""]
            continue
        del stems[level:]
        out.append(stems[-1] + ("└─ " if last[i] else "├─ "))
        stems.append(stems[-1] + ("   " if last[i] else "│  "))
    return out


@session.command("show")
@session_option(env_fallback=True)
@json_option
@cd_option
def show(session, as_json, cd):
    """Print a session's state.

    \b
    Examples:
      csa session show -s 01JH4Q
      csa session show -s 01JH4Q --json
    """
    handle = open_session(cd, session, env_fallback=True)
    st = handle.load()
    if as_json:
        from csa.attribution import session_commits

        d = st.to_dict()
        d["session_dir"] = str(handle.dir)
        d["project_commits"] = session_commits(handle, st)  # [[commits]] + trailer-marked
        emit_json(d)
        return
    from csa.state import iso_ms

    pairs = [("id", st.meta_session_id), ("name", st.name or "-"),
             ("description", st.description),
             ("project", st.project_path), ("dir", handle.dir),
             ("phase", st.phase), ("turns", st.turn_count),
             ("created", iso_ms(st.created_at)), ("last accessed", iso_ms(st.last_accessed)),
             ("git", f"{st.git_branch or '-'} {(st.git_head or '')[:12]}".strip()),
             ("parent", st.parent_session_id or "-"), ("depth", st.depth),
             *([("forked from", st.forked_from)] if st.forked_from else []),
             ("compacted", f"{st.compaction_count} times" if st.is_compacted else "no")]
    usage = st.usage()
    if usage:
        from csa.cost import money, session_cost

        pairs.append(("tokens", f"{sum(sum(t.values()) for m in usage.values() for t in m.values()):,}"))
        pairs.append(("cost", money(session_cost(usage))))
    if st.run:
        pairs.append(("last run", f"{st.run.status} ({st.run.tool}, exit {st.run.exit_code})"))
    for name, t in st.tools.items():
        pairs.append((f"tool {name}", f"provider id {t.provider_session_id or '-'}, "
                      f"exit {'-' if t.last_exit_code is None else t.last_exit_code}, "
                      f"turns {t.turn_count}"))
    from csa.cli.orchestration import show_pairs

    pairs += show_pairs(handle, st)
    write_text(key_values(pairs))


@session.command("delete")
@session_option()
@click.option("--force", is_flag=True, help="Delete even if a process holds the session's lock.")
@cd_option
def delete(session, force, cd):
    """Delete a session (refuses a running one unless --force).

    \b
    Examples:
      csa session delete -s 01JH4Q
      csa session delete -s 01JH4Q --force
    """
    from csa.cli.output import human_bytes

    handle = open_session(cd, session)
    freed = handle.store.delete(handle, force=force)
    click.echo(f"Deleted session {handle.id} ({human_bytes(freed)})", err=True)
