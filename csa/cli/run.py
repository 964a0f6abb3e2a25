"""`csa run`: parse options, read the prompt, call csa.turn.run, print the answer."""

from __future__ import annotations

import sys

import click

from csa.cli.output import ToolName, nonblank
from csa.errors import UsageError


def read_prompt(prompt: str | None) -> str:
    if prompt is None or prompt == "-":
        if sys.stdin is None or sys.stdin.isatty():
            raise UsageError('No prompt: pass it as an argument (csa run "...") or on stdin')
        buffer = getattr(sys.stdin, "buffer", None)  # bytes: stdin may not be UTF-8
        prompt = buffer.read().decode("utf-8", "replace") if buffer else sys.stdin.read()
    prompt = valid_text(prompt)
    if not prompt.strip():
        raise UsageError("The prompt is empty")
    return prompt


def positive(_ctx, param, value):
    if value is not None and not 0 < value < float("inf"):  # also nan
        raise click.BadParameter("must be a number greater than 0", param=param)
    return value


def valid_text(value: str | None) -> str | None:
    """Bytes that are not UTF-8 (argv and stdin keep them as lone surrogates) become U+FFFD:
    nothing downstream (argv of the tool, TOML, JSON) can carry them."""
    if value is None:
        return None
    try:
        data = value.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # surrogates that are not escaped bytes
        data = value.encode("utf-8", "surrogatepass")
    return data.decode("utf-8", "replace")


def _complete(ctx, param, incomplete):
    from csa.cli.session import complete_session

    return complete_session(ctx, param, incomplete)


@click.command("run")
@click.argument("prompt", required=False)
@click.option("-p", "--prompt", "prompt_opt", metavar="TEXT",
              help="The prompt, as an option (for a prompt that begins with '-').")
@click.option("--tool", type=ToolName(), metavar="TOOL",
              help="AI tool: claude-code (claude), codex, gemini-cli (gemini), opencode, an "
                   "installed third-party tool, or auto: one of another model family than "
                   "the parent's (default: config, else claude-code).")
@click.option("--failover", type=ToolName(many=True), metavar="TOOL,...",
              help="On a rate-limit, quota or overload failure, retry the turn on these tools "
                   "in turn (default: config `failover`).")
@click.option("--worktree", "worktree", is_flag=False, flag_value="", default=None,
              metavar="[BRANCH]",
              help="Run in a git worktree of the session's own, beside the repository, on a "
                   "new branch csa/<id> or BRANCH (put the prompt first, or --worktree=BRANCH).")
@click.option("--transport", type=click.Choice(["headless", "acp"]),
              help="How csa drives the tool: its headless JSON mode, or the Agent Client "
                   "Protocol (default: what the resumed session used with the tool, else "
                   "config tools.<tool>.transport, else headless).")
@click.option("-m", "--model", callback=nonblank, help="Model name passed to the tool.")
@click.option("-d", "--description", callback=nonblank,
              help="Session description (default: the prompt, cut to 80 chars).")
@click.option("--cd", "cd", metavar="DIR", type=click.Path(file_okay=False, exists=True),
              callback=nonblank, help="Run in DIR (its git top-level is the project).")
@click.option("-s", "--session", metavar="NAME_OR_ID", callback=nonblank,
              shell_complete=lambda c, p, i: _complete(c, p, i),
              help="Resume this session: its name, a unique id prefix, or the tool's own "
                   "conversation id.")
@click.option("--last", is_flag=True, help="Resume the most recently used session of the project.")
@click.option("--name", metavar="NAME", callback=nonblank,
              help="Name the new session (unique in the project; a-z 0-9 . _ -, with one "
                   "character that is not in an id, e.g. '-'); resume it with -s NAME.")
@click.option("--ephemeral", is_flag=True,
              help="Leave no session behind; the project config is not read, the tool's "
                   "own persistence is off (claude, codex).")
@click.option("--timeout", type=float, metavar="SECONDS", callback=positive,
              help="Kill the tool after SECONDS of wall time (exit 124).")
@click.option("--idle-timeout", type=float, metavar="SECONDS", callback=positive,
              help="Kill the tool when it prints nothing for SECONDS (exit 124).")
@click.option("--wait", "wait_slot", is_flag=True,
              help="Wait for a free slot when the tool's max_concurrent is reached.")
@click.option("--wait-timeout", type=float, metavar="SECONDS", callback=positive,
              help="Like --wait, but give up (exit 1) after SECONDS.")
@click.option("--with-journal/--no-journal", default=None,
              help="Prepend the session journal's summary to the prompt.")
@click.option("--goal", metavar="TEXT", callback=nonblank,
              help="Start the session journal with this objective (see csa session note).")
@click.option("--task", "tasks", metavar="ID", multiple=True,
              help="Link a task id to the session journal (repeat, or comma-separated).")
@click.option("--detach", is_flag=True,
              help="Start in the background, print the session id and return at once.")
@click.option("-q", "--quiet", is_flag=True, help="No progress on stderr.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object with the outcome.")
def run(prompt, prompt_opt, tool, failover, worktree, transport, model, description, cd,
        session, last, name, ephemeral, timeout,
        idle_timeout, wait_slot, wait_timeout, with_journal, goal, tasks, detach, quiet,
        as_json):
    """Run an AI tool on PROMPT in a new session, or resume one.

    PROMPT comes from the argument (after `--` when it begins with '-'), from
    -p/--prompt, or from stdin when it is absent or '-'.
    The new session's id is printed on stderr before the tool starts; the
    tool's final answer goes to stdout. Exit code: the tool's; 124 on timeout;
    130 when interrupted.

    \b
    Examples:
      csa run "explain src/auth.py"
      csa run --tool codex -m gpt-5.5 "add tests for the parser"
      csa run --tool auto "review the last commit"     # another model family than the parent's
      csa run --failover codex,gemini-cli "fix the flaky test"
      csa run "try the refactor" --worktree           # own worktree, branch csa/<id>
      csa run --worktree=spike/parser "rewrite the parser"
      csa run --session 01JH4Q "continue"
      csa run --name auth-fix "fix the login bug"; csa run -s auth-fix "add a test"
      csa run --last "and now the docs"
      csa run --goal "fix the sweep race" --task T-12 "reproduce the bug"
      git diff | csa run --tool gemini-cli -
      csa run --json --timeout 600 "review this branch" | jq .final_text
      csa run --ephemeral --tool codex "one-off question, keep nothing"
      csa run --transport acp --tool gemini "explain the build"   # over ACP (gemini --acp)
      csa run --tool goose "summarize TODO.md"   # [tools.goose] command = ["goose", "acp"]
      csa run -- "-----BEGIN CERTIFICATE----- ... what is wrong with this cert?"
    """
    from csa.turn import RunRequest

    if prompt is not None and prompt_opt is not None:
        raise UsageError("Give the prompt once: as an argument or with -p/--prompt")
    if worktree and len(worktree.split()) > 1:  # `csa run --worktree "fix the bug"`
        raise UsageError(f"--worktree took {worktree!r} as the branch name, which git refuses; "
                         "give the prompt before --worktree, or use --worktree=BRANCH")
    text = read_prompt(prompt_opt if prompt_opt is not None else prompt)
    if wait_timeout is not None:
        wait_slot = wait_timeout  # RunRequest.wait_slot: False, True (forever) or seconds
    model, description = valid_text(model), valid_text(description)
    req = RunRequest(prompt=text, tool=tool, model=model, description=description, cd=cd,
                     session=session, last=last, name=name, ephemeral=ephemeral,
                     timeout=timeout,
                     idle_timeout=idle_timeout, wait_slot=wait_slot, with_journal=with_journal,
                     goal=valid_text(goal),
                     tasks=[t.strip() for a in tasks for t in a.split(",") if t.strip()],
                     quiet=quiet,
                     failover=[t for t in failover.split(",") if t] if failover else None,
                     worktree=valid_text(worktree), transport=transport)
    if detach:
        from csa.detach import start_detached

        sid = start_detached(req)
        if as_json:
            from csa.cli.output import emit_json

            emit_json({"session_id": sid, "detached": True})
        else:
            click.echo(sid)
        return
    from csa.turn import run as run_request

    print_result(run_request(req), as_json)


def print_result(result, as_json: bool) -> None:
    """The turn's answer on stdout (or its JSON), then exit with the tool's code."""
    if as_json:
        from csa.cli.output import emit_json

        emit_json(result.to_json())
    elif result.final_text:
        out = result.final_text
        sys.stdout.write(out if out.endswith("\n") else out + "\n")
        sys.stdout.flush()
    if result.message and not as_json:
        click.echo(result.message, err=True)
    sys.exit(result.exit_code)
