"""The `csa` command line: parsing and printing only; the work is in csa's modules.

Subcommand modules are imported lazily so `csa --help` and `csa session list`
do not pay for the runner, the tool modules, git or psutil.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys

import click

from csa import __version__
from csa.errors import CsaError

# name -> (module, attribute, short help). Loaded on first use.
LAZY_COMMANDS = {
    "run": ("csa.cli.run", "run", "Run an AI tool on a prompt in a new or resumed session."),
    "batch": ("csa.cli.batch", "batch", "Run a JSONL file of tasks, each a child session."),
    "session": ("csa.cli.session", "session", "Inspect and manage sessions."),
    "config": ("csa.cli.misc", "config", "Show the configuration; get, set or unset one key."),
    "doctor": ("csa.cli.misc", "doctor", "Check the state dir, config and installed AI CLIs."),
    "top": ("csa.cli.topping", "top", "A live view of the project's session tree."),
    "usage": ("csa.cli.costs", "usage", "Tokens and cost of sessions, by tool, model or day."),
    "demo": ("csa.cli.demoing", "demo", "Run a small agent tree offline, no API key needed."),
    "gc": ("csa.cli.lifecycle", "gc", "Garbage-collect stale locks, orphan dirs and old sessions."),
    "events": ("csa.cli.lifecycle", "events", "Show the project's events log."),
    "sweep": ("csa.cli.sweeping", "sweep", "Import, digest, then gc and retention: the one to schedule."),
    "import": ("csa.cli.importing", "import_", "Import the AI tools' own transcripts as sessions."),
    "trust": ("csa.cli.trust", "trust", "Trust this project's .csa/config.toml (or --list, --revoke)."),
    "hooks": ("csa.cli.hooking", "hooks", "Install csa's journal hooks into Claude Code."),
}


class LazyGroup(click.Group):
    """A group whose subcommands live in modules imported only when invoked."""

    def __init__(self, *args, lazy: dict | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.lazy = lazy or {}

    def list_commands(self, ctx):
        return sorted(set(super().list_commands(ctx)) | set(self.lazy))

    def get_command(self, ctx, name):
        if name in self.lazy:
            module, attr, _help = self.lazy[name]
            try:
                cmd = getattr(importlib.import_module(module), attr)
            except (ImportError, AttributeError):
                return None
        else:
            cmd = super().get_command(ctx, name)
        return refuse_repeats(cmd) if cmd is not None else None

    def format_commands(self, ctx, formatter):
        # Short help from the table, so --help does not import every command module.
        rows = []
        for name in self.list_commands(ctx):
            if name in self.lazy:
                if importlib.util.find_spec(self.lazy[name][0]) is None:
                    continue
                rows.append((name, self.lazy[name][2]))
            else:
                cmd = super().get_command(ctx, name)
                if cmd is not None and not cmd.hidden:
                    rows.append((name, cmd.get_short_help_str(limit=80)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


def refuse_repeats(cmd: click.Command) -> click.Command:
    """`cmd`, refusing a one-value option given twice (`note --next a --next b`): click
    would keep the last value and drop the others without a word."""
    if getattr(cmd, "_csa_refuses_repeats", False):
        return cmd
    make_parser = cmd.make_parser

    def make(ctx):
        parser = make_parser(ctx)
        parse = parser.parse_args

        def parse_args(args):
            opts, rest, order = parse(args)
            seen = set()
            for param in order:
                if isinstance(param, click.Option) and not (
                        param.multiple or param.count or param.is_flag):
                    if param.name in seen:
                        raise click.UsageError(
                            f"{max(param.opts, key=len)} was given more than once; it takes "
                            "one value (give it once)", ctx=ctx)
                    seen.add(param.name)
            return opts, rest, order

        parser.parse_args = parse_args
        short_options_first(parser)
        return parser

    cmd.make_parser = make
    cmd._csa_refuses_repeats = True
    return cmd


def short_options_first(parser) -> None:
    """`-q`, `-s ID`: go to click's short-option match at once. click tries every option
    token as a long one first, and the error it builds there (and then drops) computes
    "did you mean" suggestions with difflib: ~2 ms of a run before the tool's spawn."""
    match_long = getattr(parser, "_match_long_opt", None)
    if match_long is None or not hasattr(parser, "_long_opt"):  # another click: leave it
        return

    def match_long_opt(opt, explicit_value, state):
        if opt not in parser._long_opt and opt[:2] not in parser._opt_prefixes:
            raise click.NoSuchOption(opt, ctx=parser.ctx)  # click then tries it as short
        return match_long(opt, explicit_value, state)

    parser._match_long_opt = match_long_opt


class CsaGroup(LazyGroup):
    """Top-level group: turns CsaError into a one-line message and its exit code."""

    def parse_args(self, ctx, args):
        try:
            return super().parse_args(ctx, args)
        except click.UsageError as e:
            raise hide_prompts(e, args) from None

    def invoke(self, ctx):
        from csa.perms import private_umask

        # The unparsed tokens (click 8.2 keeps the subcommand's in _protected_args).
        args = [*vars(ctx).get("_protected_args", vars(ctx).get("protected_args", [])), *ctx.args]
        try:
            with private_umask():  # all csa creates is private; a spawned tool gets the user's
                return super().invoke(ctx)
        except click.UsageError as e:
            raise hide_prompts(e, args) from None
        except CsaError as e:
            click.echo(e.message, err=True)
            ctx.exit(e.exit_code)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except KeyboardInterrupt:
            click.echo("Interrupted.", err=True)
            ctx.exit(130)
        except BrokenPipeError:
            # `csa session list | head`: quietly stop.
            sys.stderr.close()
            ctx.exit(0)
        except OSError as e:
            # Disk full, read-only or vanished files: the system's reason, on one line.
            if os.environ.get("CSA_DEBUG"):
                raise
            click.echo(os_error_message(e), err=True)
            ctx.exit(1)
        except Exception as e:  # noqa: BLE001 - last line of defence: never a traceback
            if os.environ.get("CSA_DEBUG"):
                raise
            click.echo(f"csa: internal error: {type(e).__name__}: {e} "
                       "(set CSA_DEBUG=1 for a traceback)", err=True)
            ctx.exit(1)


def _prompt_like(token: str) -> bool:
    return len(token) > 40 or any(c.isspace() for c in token) or token.startswith("---")


def hide_prompts(e: click.UsageError, args: list[str]) -> click.UsageError:
    """Never echo a prompt-looking argument (a PEM key, say) in a usage error."""
    hidden = False
    name = getattr(e, "option_name", None)
    for token in sorted({*args, *([name] if isinstance(name, str) else [])}, key=len, reverse=True):
        for shown in (repr(token), token):
            if _prompt_like(token) and shown in e.message:
                e.message = e.message.replace(shown, f"<{len(token)}-character argument, "
                                                     "not shown>")
                hidden = True
    if hidden and hasattr(e, "possibilities"):
        e.possibilities = None
    if hidden:
        e.message += " (a prompt that begins with '-' goes after --: csa run -- PROMPT, " \
                     "or csa run -p PROMPT, or on stdin)"
    return e


def os_error_message(e: OSError) -> str:
    """`csa: No space left on device (writing /path/...)`, plus a hint where one helps."""
    import errno

    text = f"csa: {e.strerror or e}"
    if e.filename:
        text += f" ({e.filename})"
    if e.errno in (errno.ENOSPC, errno.EDQUOT):
        text += "; free some space and retry (state.toml and the transcript keep what was " \
                "written before)"
    elif e.filename and _under_state_base(str(e.filename)):
        text += ("; csa keeps its state there: make it a writable directory or set "
                 "CSA_STATE_DIR to one (`csa doctor` checks it)")
    return text


def _under_state_base(filename: str) -> bool:
    from csa.paths import state_base

    try:
        base = str(state_base())
    except CsaError:
        return False
    return filename == base or filename.startswith(base.rstrip("/") + "/")


@click.group(cls=CsaGroup, lazy=LAZY_COMMANDS,
             context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-V", "--version", prog_name="csa")
@click.option("--no-color", is_flag=True, help="No colour in any output (also: NO_COLOR=1).")
def cli(no_color):
    """csa: durable, recursive sessions for AI coding CLIs.

    \b
    Examples:
      csa run --tool codex "analyze the auth module"
      csa run --session 01JH4Q "continue"          # resume by unique id prefix
      csa session list --tree
      csa session result -s 01JH4Q --json
    """
    if no_color:
        from csa import colour

        colour.disable()


def main(argv: list[str] | None = None) -> None:
    """The `csa` command. With no `argv` (the process's own command line: the console
    script, `python -m csa`) the process ends through exit_now, not the interpreter's
    teardown; a caller passing `argv` gets SystemExit as from any click command."""
    terminal_safe()
    if argv is not None:
        cli.main(args=argv, prog_name="csa")
        return
    try:
        cli.main(prog_name="csa")
    except SystemExit as e:
        exit_now(e.code)
    exit_now(0)


def exit_now(code) -> None:
    """End the process with `code` (as SystemExit takes it) without the interpreter's
    teardown: its last full garbage collection and the freeing of every module cost
    ~25 ms, a sixth of `csa run`'s overhead (docs/performance.md). stdout and stderr are
    flushed and the atexit handlers run first; every file csa writes is closed (and
    fsynced where it must be) by the code that wrote it. A thread that is not a daemon
    and still runs, or a flush that fails (a closed pipe), gets the ordinary exit."""
    import threading

    if any(t.is_alive() and not t.daemon for t in threading.enumerate()
           if t is not threading.main_thread()):
        raise SystemExit(code)
    if code is None:
        status = 0
    elif isinstance(code, int):
        status = code & 0xFF
    else:  # SystemExit("message"): printed, status 1
        print(code, file=sys.stderr)
        status = 1
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):
        raise SystemExit(code) from None
    import atexit

    atexit._run_exitfuncs()
    os._exit(status)


def terminal_safe() -> None:
    """A terminal that cannot show a character (LANG=C, PYTHONIOENCODING=ascii) gets a `?`
    for it, never a UnicodeEncodeError."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None and (stream.errors or "strict") == "strict":
            try:
                reconfigure(errors="replace")
            except (ValueError, OSError):  # closed or detached
                pass
