"""Start the tool: its argv (through the tool), environment, directory and process group.

    >>> plan(turn)        # turn.spec, turn.argv: resume the tool's conversation when known
    >>> start(turn)       # turn.proc: own process group, stdin /dev/null or the prompt

The tool runs in its own process group (so a timeout, a signal or a crash of csa
can stop all of it), with csa's environment minus inherited genealogy, plus the
tool's config env and the session's CSA_* variables. A prompt too long for argv,
or holding a NUL character, goes through stdin where the tool reads it there.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from typing import TYPE_CHECKING

from csa import genealogy
from csa.errors import ToolMissing, UsageError
from csa.perms import user_umask
from csa.tools.base import ARGV_PROMPT_LIMIT, TurnSpec
from csa.turn import record
from csa.turn.request import too_long

if TYPE_CHECKING:
    from csa.turn.pipeline import Turn

KILL_GRACE_S = 3.0


def plan(turn: Turn) -> None:
    """Fill turn.spec and turn.argv; the prompt is final (hooks have run). Raises
    CsaError for a prompt the tool cannot take or a malformed stored provider id."""
    tool, opts = turn.tool, turn.options
    tool_state = turn.state.tools.get(tool.name)
    turn.tool_state = tool_state
    if tool_state is not None and not opts.fresh_provider_session:
        turn.provider_id = tool_state.provider_session_id
    _choose_id(turn)
    prompt = turn.prompt
    # An argument cannot hold a NUL character; stdin can.
    via_stdin = tool.always_stdin or len(prompt.encode()) > ARGV_PROMPT_LIMIT \
        or "\x00" in prompt
    if via_stdin and not tool.stdin_prompt:  # the journal preamble made it too long
        raise UsageError(too_long(tool, prompt))
    tcfg = turn.cfg.tool(tool.name)
    turn.spec = TurnSpec(binary=turn.claim.choice.binary, prompt=prompt,
                         model=opts.model or tcfg.model, extra_args=tcfg.args,
                         provider_session_id=turn.provider_id, prompt_via_stdin=via_stdin,
                         ephemeral=turn.ephemeral, fork_from=turn.fork_from,
                         new_session_id=turn.chosen_id)
    turn.argv = tool.compact_argv(turn.spec) if opts.native_compact \
        else tool.argv(turn.spec)


def _choose_id(turn: Turn) -> None:
    """A new conversation of a tool that takes a caller-chosen id gets one (turn.chosen_id,
    recorded before the spawn). An id csa chose but never saw the tool print (csa died
    before) is resumed if the tool stored it, else passed again for a new conversation."""
    tool, tstate, claim = turn.tool, turn.tool_state, turn.claim
    pid = turn.provider_id
    pending = pid is not None and tstate is not None and tstate.extra.get(record.PENDING)
    # Chosen when this session was created (in its first state.toml), or by a csa that died.
    if pending and (claim.chosen_id == pid
                    or tool.has_conversation(pid, tool_cwd(turn)) is False):
        turn.provider_id, turn.chosen_id = None, pid
    elif pid is None and not turn.ephemeral and not turn.options.fresh_provider_session:
        # (A rollover's seed turn keeps the old id current until the tool prints its new
        # one: a seed that fails before that leaves the session on its old conversation.)
        turn.chosen_id = tool.choose_id()


def start(turn: Turn) -> None:
    """Spawn the tool (turn.proc); a failure to start is recorded and raised."""
    name, binary, spec = turn.tool.name, turn.claim.choice.binary, turn.spec
    assert spec is not None
    acp = getattr(turn.tool, "transport", "headless") == "acp"  # the prompt goes over ACP
    stdin_prompt = spec.prompt if spec.prompt_via_stdin and not acp else None
    cwd = tool_cwd(turn)
    try:
        turn.proc = subprocess.Popen(
            turn.argv, cwd=cwd, env=tool_env(turn), stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.PIPE if stdin_prompt is not None or acp else subprocess.DEVNULL,
            start_new_session=True, close_fds=True, umask=user_umask())  # csa's is 077
    except OSError as e:
        record.fail(turn, f"could not start {binary}: {e.strerror}")
        raise ToolMissing(f"{name}: could not start '{binary}': {e.strerror}; check "
                          f"tools.{name}.binary in your config") from e
    except ValueError as e:  # a NUL character in an argument or the environment
        record.fail(turn, f"could not start {binary}: {e}")
        raise UsageError(f"{name}: could not start '{binary}': {e} (in the prompt, "
                         f"the model or tools.{name}.args/env)") from e
    if acp:  # the client thread speaks ACP on its stdin/stdout (csa.acp.process)
        from csa.acp.process import attach

        turn.proc = attach(turn, turn.proc, cwd)
    elif stdin_prompt is not None:
        threading.Thread(target=_feed_stdin, args=(turn.proc, stdin_prompt),
                         daemon=True).start()


def tool_env(turn: Turn) -> dict[str, str]:
    """csa's environment minus inherited genealogy, plus the tool's config env and the
    session's CSA_* variables."""
    state, tool = turn.state, turn.tool
    env = {k: v for k, v in os.environ.items() if k not in genealogy.ENV_VARS}
    env.update(tool.env())
    env.update(turn.cfg.tool(tool.name).env)
    csa_bin = None
    if turn.ephemeral:  # a launcher csa must write goes with the temp dir, not the cache
        from csa.selfbin import csa_bin as running_csa

        csa_bin = running_csa(cache_dir=turn.session.dir)
    env.update(genealogy.child_env(session_id=turn.sid, depth=state.depth,
                                   project_root=turn.store.root, session_dir=turn.session.dir,
                                   tool=tool.name, parent_session_id=state.parent_session_id,
                                   csa_bin=csa_bin))
    wt = state.extra.get("worktree")
    if isinstance(wt, dict) and isinstance(wt.get("path"), str):
        env["CSA_WORKTREE"] = wt["path"]  # children run there too (csa.worktree)
    return env


def tool_cwd(turn: Turn) -> str:
    """Where the tool runs: --cd or the cwd; for an imported session, the directory it
    originally ran in (claude and gemini find a conversation by its directory)."""
    cd = turn.claim.choice.cd
    imported = turn.state.extra.get("import") or {}
    original = imported.get("cwd") if isinstance(imported, dict) else None
    # The cwd came from a file csa did not write: an absolute, existing directory only,
    # and shown before the tool runs there.
    from csa.worktree import tool_dir

    here = os.path.realpath(cd) if cd else os.getcwd()
    in_worktree = tool_dir(turn.state, turn.store.root, here)  # --worktree, or inherited
    if in_worktree is not None:
        return in_worktree
    if not turn.is_new and isinstance(original, str) and os.path.isabs(original) \
            and os.path.isdir(original) and cd is None:
        print(f"csa: running in {original!r}, the directory the imported conversation ran "
              "in (--cd DIR to choose another)", file=sys.stderr, flush=True)
        return original
    return here


def _feed_stdin(proc: subprocess.Popen, prompt: str) -> None:
    try:
        assert proc.stdin is not None
        proc.stdin.write(prompt.encode())
        proc.stdin.close()
    except (BrokenPipeError, OSError):
        pass


def stop(proc: subprocess.Popen) -> None:
    """Kill the tool's whole process group and reap the tool."""
    kill_group(proc.pid, signal.SIGKILL)
    if proc.poll() is None:
        proc.kill()
    proc.wait()


def kill_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass
