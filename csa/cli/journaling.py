"""`csa session note` and `csa session journal`."""

from __future__ import annotations

import click

from csa.cli.output import emit_json, json_option, write_text
from csa.cli.session import cd_option, open_session, session_option
from csa.errors import UsageError

ENTRY_KINDS = ("progress", "decision", "discovery", "blocker", "next", "done", "context",
               "current", "clear-blocker")
LIFECYCLE = ("pause", "resume", "complete", "abandon")


def _action(entries: dict, flags: dict, goal, tasks) -> tuple[str | None, str | None]:
    """The one action asked for (None when only --goal/--task start the journal)."""
    given = {k: v for k, v in entries.items() if v is not None}
    chosen = [k for k, v in flags.items() if v]
    if len(given) + len(chosen) > 1 or (chosen and (goal is not None or tasks)):
        raise UsageError("give exactly one of --progress, --decision, --discovery, --blocker, "
                         "--next, --done, --context, --current, --clear-blocker, --pause, "
                         "--resume, --complete, --abandon (--goal/--task may go with an entry)")
    if chosen:
        return chosen[0], None
    if given:
        kind, text = next(iter(given.items()))
        if kind != "clear-blocker" and not text.strip():
            raise UsageError("the note is empty")
        return kind, text
    if goal is None and not tasks:
        raise UsageError("give one of --progress, --decision, --discovery, --blocker, --next, "
                         "--done, --context, --current, --clear-blocker, or --goal/--task to "
                         "start the journal, or --pause/--resume/--complete/--abandon")
    return None, None


@click.command("note")
@session_option(env_fallback=True)
@click.option("--goal", metavar="TEXT", help="Start (or retarget) the journal: the objective.")
@click.option("--task", "tasks", metavar="ID", multiple=True,
              help="Link a task id (repeat, or comma-separated).")
@click.option("--progress", metavar="TEXT", help="What was just achieved or is under way.")
@click.option("--decision", metavar="TEXT", help="A decision made (add --rationale).")
@click.option("--rationale", metavar="TEXT", help="Why, for --decision.")
@click.option("--discovery", metavar="TEXT", help="Something learned that must not be lost.")
@click.option("--context", metavar="TEXT",
              help="Key Context: a fact that must survive compaction.")
@click.option("--blocker", metavar="TEXT", help="What blocks progress.")
@click.option("--clear-blocker", "clear_blocker", metavar="[TEXT]", is_flag=False,
              flag_value="", default=None, help="Clear the open blocker TEXT names (all if no TEXT).")
@click.option("--next", "next_", metavar="TEXT", help="Add an open step to Next Steps.")
@click.option("--current", metavar="TEXT", help="Mark the open step TEXT names as current.")
@click.option("--done", metavar="TEXT", help="A finished item; the step it names leaves Next Steps.")
@click.option("--pause", is_flag=True, help="Pause the journal (--reason for a note).")
@click.option("--resume", is_flag=True, help="Make a paused or closed journal active again.")
@click.option("--complete", is_flag=True, help="Close as completed and write the archive.")
@click.option("--abandon", is_flag=True, help="Close as abandoned (needs --reason).")
@click.option("--reason", metavar="TEXT", help="Why, for --abandon (or a note for --pause).")
@json_option
@cd_option
def note(session, goal, tasks, progress, decision, rationale, discovery, context, blocker,
         clear_blocker, next_, current, done, pause, resume, complete, abandon, reason,
         as_json, cd):
    """Write to the session journal (journal.md); the TL;DR is kept current.

    One action at a time: an entry (--progress, --decision, --discovery, --context,
    --blocker, --next, --done), a step or blocker change (--current, --clear-blocker), or
    a lifecycle change (--pause, --resume, --complete, --abandon --reason). --goal and
    --task start the journal (alone or with an entry). Inside a csa run, -s defaults to
    the session you run in.

    \b
    Examples:
      csa session note -s 01JH4Q --goal "fix the sweep race" --task T-12
      csa session note -s 01JH4Q --decision "lock before check" --rationale "smallest fix"
      csa session note --progress "parser tests pass"       # from inside a csa run
      csa session note -s 01JH4Q --context "lock order: watcher before sweeper"
      csa session note -s 01JH4Q --next "add regression test"
      csa session note -s 01JH4Q --done "add regression test"
      csa session note -s 01JH4Q --clear-blocker
      csa session note -s 01JH4Q --abandon --reason "requirements changed"
    """
    from csa.journal_life import apply, start

    entries = dict(zip(ENTRY_KINDS, (progress, decision, discovery, blocker, next_, done,
                                     context, current, clear_blocker), strict=True))
    flags = dict(zip(LIFECYCLE, (pause, resume, complete, abandon), strict=True))
    action, text = _action(entries, flags, goal, tasks)
    if rationale and action != "decision":
        raise UsageError("--rationale goes with --decision")
    if reason is not None and action not in ("abandon", "pause", "complete"):
        raise UsageError("--reason goes with --abandon, --pause or --complete")
    if action == "abandon" and not (reason or "").strip():
        raise UsageError("--abandon needs --reason \"why\"")
    task_ids = [t.strip() for arg in tasks for t in arg.split(",") if t.strip()]
    handle = open_session(cd, session, env_fallback=True)
    out = {"session_id": handle.id}
    if goal is not None or task_ids:
        out["journal"] = start(handle, goal=goal, tasks=task_ids)
    if action is not None:
        out.update(apply(handle, action, text, rationale=rationale, reason=reason))
    if as_json:
        emit_json(out)
    elif action in ("complete", "abandon"):
        from csa.journal_life import render_summary

        write_text(render_summary(out) + f"Archive: {out['archive']}\n")
    else:
        click.echo(f"Noted {action or 'goal'} in {handle.id}", err=True)


@click.command("journal")
@session_option(env_fallback=True, required=False)
@click.option("--summary", is_flag=True, help="Only the compact summary --with-journal prepends.")
@click.option("--tldr", "section", flag_value="tldr", help="Only the TL;DR.")
@click.option("--context", "section", flag_value="context", help="Only the objective, tasks "
              "and Key Context.")
@click.option("--progress", "section", flag_value="progress",
              help="Only progress: fraction, steps (<- CURRENT), progress log.")
@click.option("--decisions", "section", flag_value="decisions", help="Only decisions.")
@click.option("--discoveries", "section", flag_value="discoveries", help="Only discoveries.")
@click.option("--blockers", "section", flag_value="blockers", help="Only blockers.")
@click.option("--next", "section", flag_value="next", help="Only Next Steps.")
@click.option("--list", "list_", is_flag=True, help="Every journal of the project.")
@json_option
@cd_option
def journal(session, summary, section, list_, as_json, cd):
    """Show the session journal, or one section of it.

    \b
    Examples:
      csa session journal -s 01JH4Q
      csa session journal -s 01JH4Q --progress      # 3/5 steps, <- CURRENT
      csa session journal -s 01JH4Q --decisions --json
      csa session journal --summary        # from inside a csa run
      csa session journal --list
    """
    if list_:
        return _list(cd, as_json)
    if section and summary:
        raise UsageError("--summary and a section option cannot be combined")
    from csa.journal import load, prompt_preamble, read_text, tldr

    handle = open_session(cd, session, env_fallback=True)
    sid = handle.id
    if section:
        from csa.journal_life import render_view, require, view

        data = view(require(handle), section)
        emit_json({"session_id": sid, "section": section, **data}) if as_json \
            else write_text(render_view(section, data))
        return
    if as_json:
        doc = load(handle)
        emit_json({"session_id": sid, "meta": doc.meta, "progress": doc.progress(),
                   "tldr": tldr(doc), "entries": doc.entries,
                   **({"summary": prompt_preamble(handle)} if summary else {})})
        return
    if summary:
        text = prompt_preamble(handle)
        if text:
            write_text(text + "\n")
        return
    text = read_text(handle)
    if text is None:
        click.echo(f"No journal yet for {sid}; start one with: csa session note -s {sid[:8]} "
                   "--goal \"...\"", err=True)
        return
    write_text(text)


def _list(cd, as_json) -> None:
    from csa.journal_life import journals
    from csa.store import Store

    rows = journals(Store.open(cd))
    if as_json:
        emit_json(rows)
        return
    write_text("".join(f"{r['session_id']}  {r['status']:<9}  {r['done']}/{r['total']}  "
                       f"{r['updated_at']}  {r['goal'] or ''}\n" for r in rows)
               or "No journals in this project.\n")
