"""`csa session note` and `csa session journal`."""

from __future__ import annotations

import click

from csa.cli.output import emit_json, json_option, write_text
from csa.cli.session import cd_option, open_session, session_option
from csa.errors import UsageError

KINDS = ("progress", "decision", "discovery", "blocker", "next", "done")


@click.command("note")
@session_option(env_fallback=True)
@click.option("--progress", metavar="TEXT", help="What was just achieved or is under way.")
@click.option("--decision", metavar="TEXT", help="A decision made (add --rationale).")
@click.option("--rationale", metavar="TEXT", help="Why, for --decision.")
@click.option("--discovery", metavar="TEXT", help="Something learned that must not be lost.")
@click.option("--blocker", metavar="TEXT", help="What blocks progress.")
@click.option("--next", "next_", metavar="TEXT", help="The next step.")
@click.option("--done", metavar="TEXT", help="A finished item.")
@json_option
@cd_option
def note(session, progress, decision, rationale, discovery, blocker, next_, done, as_json, cd):
    """Append an entry to the session journal (journal.md); the TL;DR is kept current.

    Give exactly one of --progress, --decision, --discovery, --blocker, --next, --done.
    Inside a csa run, -s defaults to the session you run in.

    \b
    Examples:
      csa session note -s 01JH4Q --decision "lock before check" --rationale "smallest fix"
      csa session note --progress "parser tests pass"       # from inside a csa run
    """
    from csa.journal import add_entry

    given = {k: v for k, v in zip(KINDS, (progress, decision, discovery, blocker, next_, done),
                                  strict=True) if v is not None}
    if len(given) != 1:
        raise UsageError("give exactly one of --progress, --decision, --discovery, --blocker, "
                         "--next, --done")
    kind, text = next(iter(given.items()))
    if rationale and kind != "decision":
        raise UsageError("--rationale goes with --decision")
    if not text.strip():
        raise UsageError("the note is empty")
    handle = open_session(cd, session, env_fallback=True)
    entry = add_entry(handle, kind, text, rationale=rationale)
    if as_json:
        emit_json({"session_id": handle.id, **entry})
    else:
        click.echo(f"Noted {kind} in {handle.id}", err=True)


@click.command("journal")
@session_option(env_fallback=True)
@click.option("--summary", is_flag=True, help="Only the compact summary --with-journal prepends.")
@json_option
@cd_option
def journal(session, summary, as_json, cd):
    """Show the session journal.

    \b
    Examples:
      csa session journal -s 01JH4Q
      csa session journal --summary        # from inside a csa run
    """
    from csa.journal import prompt_preamble, read, read_text, tldr

    handle = open_session(cd, session, env_fallback=True)
    sid = handle.id
    if as_json:
        entries = read(handle)
        emit_json({"session_id": sid, "tldr": tldr(entries), "entries": entries})
        return
    if summary:
        text = prompt_preamble(handle)
        if text:
            write_text(text + "\n")
        return
    text = read_text(handle)
    if text is None:
        click.echo(f"No journal yet for {sid}; add one with: csa session note -s {sid[:8]} "
                   "--progress \"...\"", err=True)
        return
    write_text(text)
