"""Child processes a fake starts on request: a nested `csa run`, a lingering grandchild.

    FAKE_NESTED="--tool codex 'do it' ||| --tool gemini next" claude -p hi ...
    # runs `csa run --tool codex 'do it'` with FAKE_NESTED="--tool gemini next" in its env

Imported only when FAKE_NESTED, FAKE_CHILD_SLEEP or FAKE_GRANDCHILD is set (shlex and subprocess are slow
to import).
"""

import os


def run_nested(spec):
    """Run `$FAKE_CSA run ARGS` for the first `|||` level; `nested(exit=N): <its stdout>`."""
    import shlex
    import subprocess

    levels = spec.split("|||")
    args = shlex.split(levels[0])
    cmd = shlex.split(os.environ.get("FAKE_CSA") or "csa") + ["run"] + args
    child_env = dict(os.environ)
    rest = "|||".join(levels[1:]).strip()
    if rest:
        child_env["FAKE_NESTED"] = rest
    else:
        child_env.pop("FAKE_NESTED", None)
    try:
        p = subprocess.run(
            cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, env=child_env, cwd=os.getcwd()
        )
        code, out = p.returncode, p.stdout.decode("utf-8", "replace")
    except OSError as e:
        code, out = 127, f"cannot run {cmd[0]}: {e}"
    return f"nested(exit={code}): {out.strip()}"


def sleeping_grandchild(secs):
    """Start `sleep SECS` in our process group, inheriting stdout/stderr, and do not wait."""
    try:
        os.posix_spawnp("sleep", ["sleep", secs], dict(os.environ))
    except (OSError, AttributeError):
        import subprocess

        subprocess.Popen(["sleep", secs])


def detached_grandchild():
    """Start `sleep 120` in a session of its own (it leaves our process group, as a daemon
    or a server would); returns its pid. csa must still find and stop it."""
    null = [(os.POSIX_SPAWN_OPEN, fd, os.devnull, os.O_RDWR, 0) for fd in (0, 1, 2)]
    return os.posix_spawnp(
        "sleep", ["sleep", "120"], dict(os.environ), setsid=True, file_actions=null
    )
