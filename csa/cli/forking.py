"""`csa session rename | fork | export`: names, forks and exports of sessions."""

from __future__ import annotations

import click

from csa.cli.output import ToolName, emit_json, nonblank
from csa.cli.session import cd_option, open_session, session_option
from csa.errors import UsageError


@click.command("rename")
@session_option()
@click.argument("name", required=False)
@click.option("--clear", is_flag=True, help="Remove the session's name.")
@cd_option
def rename(session, name, clear, cd):
    """Name a session, so that -s NAME finds it.

    A name is unique in the project: 1-64 characters of a-z, 0-9, '.', '_' and
    '-', with at least one that cannot be part of an id ('-', '.', '_', 'i',
    'l', 'o' or 'u'). -s accepts the name wherever it accepts an id.

    \b
    Examples:
      csa session rename -s 01JH4Q auth-refactor
      csa session rename --last parser.v2
      csa session rename -s auth-refactor --clear
    """
    from csa.names import rename as do_rename

    if clear == (name is not None):
        raise UsageError("give a NAME, or --clear to remove the name")
    handle = open_session(cd, session)
    old = do_rename(handle, name)
    if name is None:
        click.echo(f"Session {handle.id} has no name now (was {old or 'unnamed'})", err=True)
    else:
        click.echo(f"Session {handle.id} is named {name}" + (f" (was {old})" if old else ""),
                   err=True)


@click.command("fork")
@session_option()
@click.argument("prompt", required=False)
@click.option("--name", metavar="NAME", callback=nonblank, help="Name the fork.")
@click.option("--tool", type=ToolName(), metavar="TOOL",
              help="Tool of the fork (default: the session's last tool). Another tool than "
                   "the session's starts from its conversation as text.")
@click.option("--timeout", type=float, metavar="SECONDS", help="Wall-clock limit of the turn.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object with the outcome.")
@cd_option
def fork(session, prompt, name, tool, timeout, as_json, cd):
    """Start a new session from a session's conversation; the original is left as it is.

    The fork is a sibling of the session (same parent) with forked_from set.
    Where the tool can fork natively (claude-code, codex, opencode) it copies
    the conversation itself; otherwise (gemini-cli, or another --tool) the
    fork's first prompt carries the session's conversation. With PROMPT the
    fork's first turn runs now; without it, on the first csa run -s FORK.

    \b
    Examples:
      csa session fork -s auth-fix --name auth-alt "try it with JWTs instead"
      csa session fork --last
      csa session fork -s 01JH4Q --tool codex "review what was done so far"
    """
    from csa.cli.run import read_prompt
    from csa.fork import create_fork

    if name is not None:
        from csa.names import check_name

        check_name(name)
    text = read_prompt(prompt) if prompt is not None else None
    forked = create_fork(open_session(cd, session), name=name, tool=tool)
    state = forked.read_state()
    click.echo(f"csa: fork {forked.id} of session {state.forked_from}", err=True)
    if text is None:
        if as_json:
            emit_json({"session_id": forked.id, "forked_from": state.forked_from})
        else:
            click.echo(forked.id)
        return
    from csa.cli.run import print_result
    from csa.turn import RunRequest, run

    result = run(RunRequest(prompt=text, tool=state.extra["fork"]["tool"], session=forked.id,
                            cd=cd, timeout=timeout))
    print_result(result, as_json)


@click.command("export")
@session_option(env_fallback=True)
@click.option("--format", "fmt", type=click.Choice(["md", "html", "jsonl"]), default="md",
              show_default=True, help="Markdown, one self-contained HTML page, or JSON lines.")
@click.option("-o", "--output", metavar="FILE", type=click.Path(dir_okay=False),
              help="Write to FILE (created 0600) instead of stdout.")
@click.option("--tree", is_flag=True, help="Include the session's descendants.")
@cd_option
def export(session, fmt, output, tree, cd):
    """Print a session's conversation for people (md, html) or tools (jsonl).

    Prompts, answers, tool calls (folded), timestamps and tokens, all from the
    redacted transcript.

    \b
    Examples:
      csa session export -s auth-fix
      csa session export --last --format html -o session.html
      csa session export -s 01JH4Q --tree --format jsonl | jq -c 'select(.type=="prompt")'
    """
    from csa.cli.output import write_text
    from csa.export import export as do_export

    text = do_export(open_session(cd, session, env_fallback=True), fmt, tree=tree)
    if output is None:
        write_text(text)
        return
    from pathlib import Path

    from csa.fsutil import atomic_write

    atomic_write(Path(output), text.encode(), durable=False)
    click.echo(f"csa: wrote {output}", err=True)
