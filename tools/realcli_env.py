"""Environment, arguments and config files that make the real AI CLIs run offline against MockLLM.

``prepare(tool, mock, home)`` writes the config files a tool needs under the test
HOME and returns ``(env_overrides, extra_args, setup_files)``; merge the env
over a base environment (``minimal_env()`` is a good one), start the tool with
stdin from /dev/null in the project directory, and every model request goes to
the mock on 127.0.0.1.

Example::

    sys.path.insert(0, str(REPO / "tools"))  # tools/ is not a package
    from mock_llm import MockLLM
    from realcli_env import prepare, minimal_env, real_clis_bin

    with MockLLM() as mock:
        env_over, extra, _files = prepare("claude", mock, home)
        env = {**minimal_env(real_clis_bin()), **env_over}
        subprocess.run(["claude", "-p", "hi", "--output-format", "stream-json",
                        "--verbose", "--dangerously-skip-permissions", *extra],
                       env=env, cwd=project, stdin=subprocess.DEVNULL)

To make stray traffic fail at once (root on Linux), run things in a private
network namespace: ``netns_wrap(argv)`` for a one-off namespace (the mock must
then run inside the same wrapped command), or ``NetNamespace`` for a namespace
shared by an in-process ``MockLLM(netns=ns.path)`` and ``ns.wrap(argv)``.
"""

from __future__ import annotations

import functools
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

__all__ = [
    "CODEX_MODEL",
    "GEMINI_MODEL",
    "OPENCODE_MODEL",
    "TOOLS",
    "NetNamespace",
    "minimal_env",
    "netns_available",
    "netns_wrap",
    "prepare",
    "real_clis_bin",
]

TOOLS = ("claude", "codex", "gemini", "opencode")
CODEX_MODEL = "gpt-5.5"
GEMINI_MODEL = "gemini-2.5-flash"
OPENCODE_MODEL = "mock/mock-model"

REPO = Path(__file__).resolve().parent.parent

# gemini-cli exits 41 "Invalid auth method selected." without this file.
# sessionRetention stays off: in 0.61 its cleanup can delete a resumed
# session's transcript. model.name skips the model-router request.
GEMINI_SETTINGS: dict[str, Any] = {
    "security": {"auth": {"selectedType": "gemini-api-key"}, "folderTrust": {"enabled": False}},
    "privacy": {"usageStatisticsEnabled": False},
    "telemetry": {"enabled": False},
    "general": {
        "enableAutoUpdate": False,
        "enableAutoUpdateNotification": False,
        "sessionRetention": {"enabled": False},
    },
    "ide": {"enabled": False},
    "model": {"name": GEMINI_MODEL},
}


def _base_url(mock: Any) -> str:
    """Accept a MockLLM, a base URL or a port; return ``http://127.0.0.1:PORT``.

    Example: ``_base_url(4242) -> "http://127.0.0.1:4242"``
    """
    if hasattr(mock, "base_url"):
        url = mock.base_url
    elif isinstance(mock, int):
        url = f"http://127.0.0.1:{mock}"
    else:
        url = str(mock)
    url = url.rstrip("/")
    if not url.startswith("http://127.0.0.1:"):
        # Everything must stay on loopback; a typo here would leak real traffic.
        raise ValueError(f"mock base URL must be http://127.0.0.1:PORT, got {url!r}")
    return url.removesuffix("/v1")


def _write(path: Path, text: str, files: list[Path]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    files.append(path)


def _xdg(home: Path) -> dict[str, str]:
    return {
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_DATA_HOME": str(home / ".local" / "share"),
        "XDG_STATE_HOME": str(home / ".local" / "state"),
        "XDG_CACHE_HOME": str(home / ".cache"),
    }


def codex_config_toml(base_url: str) -> str:
    """The ``$CODEX_HOME/config.toml`` that points codex at the mock (Responses API).

    Example: ``codex_config_toml("http://127.0.0.1:4242")`` contains
    ``base_url = "http://127.0.0.1:4242/v1"``.
    """
    return (
        f'model_provider = "mock"\n'
        f'model = "{CODEX_MODEL}"\n'
        f"check_for_update_on_startup = false\n"
        f"\n[analytics]\nenabled = false\n"
        f"\n[features]\nplugins = false\nremote_plugin = false\napps = false\n"
        f"\n[model_providers.mock]\n"
        f'name = "mock"\n'
        f'base_url = "{base_url}/v1"\n'
        f'env_key = "MOCK_API_KEY"\n'
        f'wire_api = "responses"\n'
    )


def opencode_config(base_url: str) -> dict[str, Any]:
    """The OPENCODE_CONFIG_CONTENT object: one openai-compatible provider on the mock.

    Example: ``opencode_config("http://127.0.0.1:4242")["model"] -> "mock/mock-model"``
    """
    return {
        "model": OPENCODE_MODEL,
        "provider": {
            "mock": {
                "npm": "@ai-sdk/openai-compatible",
                "options": {"baseURL": f"{base_url}/v1", "apiKey": "dummy"},
                "models": {
                    "mock-model": {
                        "name": "Mock",
                        "tool_call": True,
                        "limit": {"context": 100000, "output": 4096},
                    }
                },
            }
        },
    }


def prepare(
    tool: str, mock: Any, home: str | os.PathLike[str]
) -> tuple[dict[str, str], list[str], list[Path]]:
    """Write the config files ``tool`` needs under ``home``; return (env, extra args, files).

    ``mock`` is a MockLLM, its base URL, or its port. ``env`` always sets HOME,
    the XDG dirs and TMPDIR under ``home`` plus NO_PROXY for loopback; ``extra args``
    go after the tool's own arguments (all four need none today: model and
    provider come from config). Files are (re)written on every call so a test
    can re-point a HOME at a new mock.

    Example: ``env, args, files = prepare("gemini", 4242, "/tmp/t/home")``
    """
    if tool not in TOOLS:
        raise ValueError(f"unknown tool {tool!r}; expected one of {TOOLS}")
    base = _base_url(mock)
    home = Path(home)
    home.mkdir(parents=True, exist_ok=True)
    files: list[Path] = []
    # Loopback never goes through a proxy even if the caller's env has one.
    env = {**_xdg(home), "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"}
    # The CLIs litter $TMPDIR (claude: claude-<uid>/fswatch-probe-* per call and
    # cc-socks/; opencode: an extracted .so and opencode/), so keep it per test.
    # claude falls back to /tmp/cc-socks-<uid> when the socket path is too long.
    tmp = home / "tmp"
    tmp.mkdir(exist_ok=True)
    env["TMPDIR"] = str(tmp)
    args: list[str] = []

    if tool == "claude":
        env.update(
            ANTHROPIC_BASE_URL=base,
            ANTHROPIC_API_KEY="dummy",
            CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC="1",
            DISABLE_TELEMETRY="1",
            DISABLE_ERROR_REPORTING="1",
            DISABLE_AUTOUPDATER="1",
        )
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            # Otherwise --dangerously-skip-permissions is refused as root.
            env["IS_SANDBOX"] = "1"
    elif tool == "codex":
        codex_home = home / ".codex"
        _write(codex_home / "config.toml", codex_config_toml(base), files)
        env.update(CODEX_HOME=str(codex_home), MOCK_API_KEY="dummy")
    elif tool == "gemini":
        _write(home / ".gemini" / "settings.json", json.dumps(GEMINI_SETTINGS, indent=2), files)
        env.update(GEMINI_API_KEY="dummy", GOOGLE_GEMINI_BASE_URL=base)
    else:  # opencode
        env.update(
            OPENCODE_CONFIG_CONTENT=json.dumps(opencode_config(base)),
            OPENCODE_DISABLE_AUTOUPDATE="1",
            OPENCODE_DISABLE_MODELS_FETCH="1",
            OPENCODE_DISABLE_LSP_DOWNLOAD="1",
            OPENCODE_DISABLE_SHARE="1",
            OPENCODE_DISABLE_DEFAULT_PLUGINS="1",
            # opencode looks up a plugin package at every start; the mock answers 404.
            npm_config_registry=f"{base}/npm-registry/",
        )
        for d in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
            Path(env[d]).mkdir(parents=True, exist_ok=True)
    return env, args, files


def real_clis_bin() -> Path:
    """Where ``tools/install-real-clis`` puts the binaries (may not exist yet).

    Example: ``real_clis_bin() -> Path("<repo>/.cache/real-clis/node_modules/.bin")``
    """
    root = os.environ.get("CSA_REAL_CLIS_DIR") or str(REPO / ".cache" / "real-clis")
    return Path(root) / "node_modules" / ".bin"


def minimal_env(*path_prepend: str | os.PathLike[str]) -> dict[str, str]:
    """A small base environment: PATH (with ``path_prepend`` first), locale, TERM, TMPDIR.

    Starting from this instead of os.environ keeps a developer's real API keys,
    proxies and config dirs away from the tools under test.

    Example: ``env = {**minimal_env(real_clis_bin()), **prepare("codex", mock, home)[0]}``
    """
    path = [os.fspath(p) for p in path_prepend]
    # node must be findable by the npm shims (gemini and codex are node scripts).
    path.append(os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"))
    env = {"PATH": os.pathsep.join(path), "LANG": "C.UTF-8", "TERM": "dumb"}
    for key in ("TMPDIR", "NODE_EXTRA_CA_CERTS", "SSL_CERT_FILE", "SYSTEMROOT"):
        if os.environ.get(key):
            env[key] = os.environ[key]
    return env


# --- private network namespaces ------------------------------------------------

# Brings "lo" up with SIOCSIFFLAGS, for machines without iproute2's `ip`.
_LO_UP_PY = (
    "import fcntl,socket,struct;"
    "s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM);"
    "f=struct.unpack('16sh',fcntl.ioctl(s,0x8913,struct.pack('16sh',b'lo',0)))[1];"
    "fcntl.ioctl(s,0x8914,struct.pack('16sh',b'lo',f|1))"
)


def _lo_up_command() -> str:
    """Shell command that brings loopback up inside a fresh namespace."""
    ip = shutil.which("ip")
    if ip:
        return f"{ip} link set lo up"
    return f"{shlex.quote(sys.executable)} -c {shlex.quote(_LO_UP_PY)}"


def netns_wrap(argv: list[str]) -> list[str]:
    """Wrap ``argv`` to run in a new, private network namespace with only loopback up.

    Anything in there can reach only servers started inside the same wrapped
    command, so wrap the whole thing (pytest, or a shell that starts the mock
    and the CLI); use NetNamespace to share one namespace with an in-process mock.

    Example: ``subprocess.run(netns_wrap(["python", "-m", "pytest", "-m", "realcli"]))``
    """
    return ["unshare", "-n", "sh", "-c", f'{_lo_up_command()} && exec "$@"', "sh", *argv]


@functools.cache
def netns_available() -> bool:
    """Whether ``unshare -n`` with loopback up works here (root, Linux, not blocked by seccomp).

    Probes once by binding and connecting on 127.0.0.1 inside a throwaway namespace.

    Example: ``pytest.mark.skipif(not netns_available(), reason="no netns")``
    """
    if not sys.platform.startswith("linux") or not shutil.which("unshare"):
        return False
    probe = (
        "import socket;l=socket.socket();l.bind(('127.0.0.1',0));l.listen();"
        "socket.create_connection(l.getsockname(),timeout=2).close();"
        "ok=False\n"
        "try:\n socket.create_connection(('192.0.2.1',9),timeout=2)\n"
        "except OSError:\n ok=True\n"
        "raise SystemExit(0 if ok else 3)"
    )
    try:
        res = subprocess.run(
            netns_wrap([sys.executable, "-c", probe]),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=20,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return res.returncode == 0


class NetNamespace:
    """A private network namespace (loopback only) kept alive by a holder process.

    ``path`` is the namespace file for ``MockLLM(netns=...)``; ``wrap(argv)``
    runs a command inside via nsenter. Both sides then share one 127.0.0.1
    that nothing outside can reach, and every non-loopback connect fails fast.

    Example::

        with NetNamespace() as ns, MockLLM(netns=ns.path) as mock:
            subprocess.run(ns.wrap(["claude", "-p", "hi", ...]), env=env)
    """

    def __init__(self) -> None:
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def path(self) -> str:
        if self._proc is None:
            raise RuntimeError("NetNamespace is not started")
        return f"/proc/{self._proc.pid}/ns/net"

    def start(self) -> NetNamespace:
        """Create the namespace; raises RuntimeError when that is not possible here."""
        if self._proc is not None:
            return self
        if not shutil.which("nsenter"):
            raise RuntimeError("nsenter not found (util-linux)")
        # The holder prints once loopback is up, then sleeps until stopped;
        # `exec` makes the holder's pid the one whose namespace we enter.
        cmd = netns_wrap(["sh", "-c", "echo ready && exec sleep 2147483647"])
        self._proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE)
        assert self._proc.stdout is not None
        line = self._proc.stdout.readline()
        if line.strip() != b"ready":
            self.stop()
            raise RuntimeError("could not create a network namespace (need root on Linux)")
        return self

    def wrap(self, argv: list[str]) -> list[str]:
        """``argv`` run inside this namespace (same mount/pid view, only the network differs).

        Example: ``ns.wrap(["codex", "exec", "--json", "hi"])``
        """
        return ["nsenter", f"--net={self.path}", "--", *argv]

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()

    def __enter__(self) -> NetNamespace:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _demo() -> int:
    """Print the env/args/files for each tool against a made-up port (for eyeballing)."""
    with tempfile.TemporaryDirectory() as tmp:
        for tool in TOOLS:
            env, args, files = prepare(tool, 4242, Path(tmp) / tool)
            print(tool, json.dumps(env, indent=1), args, [str(f) for f in files])
    print("netns_available:", netns_available())
    return 0


if __name__ == "__main__":
    sys.exit(_demo())
