"""Trust of a project's `.csa/config.toml`: it comes with the repository, so settings
that run code are honoured only once the user trusted that file's exact content.

    >>> trust_file(Path("/home/me/proj/.csa/config.toml"))    # records its sha256
    >>> is_trusted(path, data)                                 # the same bytes? True
    >>> strip_untrusted(d, path, data)                         # ['tools.codex.binary']

The trust store is `<state base>/trust.toml` (written by csa.tomldoc, 0600):

    [files."/home/me/proj/.csa/config.toml"]
    sha256 = "9f2c..."
    trusted_at = "2026-12-03T01:02:03.456Z"
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

from csa.errors import CsaError
from csa.paths import state_base

TRUST_FILE = "trust.toml"
# Per-tool settings that make csa execute something or change what the tool runs.
# An ACP agent's `command` and `transport` choose the program; `permissions` lets it act.
TOOL_CODE_KEYS = ("binary", "env", "args", "extra_args", "hooks", "command", "transport",
                  "permissions")
# Top-level settings that would run code or let a tool act (acp.permissions).
TOP_CODE_KEYS = ("hooks", "acp")
_warned: set[str] = set()


def store_path() -> Path:
    return state_base() / TRUST_FILE


def _load() -> dict:
    import tomllib

    from csa.safeio import read_text

    try:
        data = tomllib.loads(read_text(store_path(), "trust"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError, RecursionError) as e:
        raise CsaError(f"{store_path()}: unreadable trust store ({e}); remove it and run "
                       "`csa trust` again in the projects you trust") from e
    files = data.get("files")
    return files if isinstance(files, dict) else {}


def _save(files: dict) -> None:
    from csa.fsutil import atomic_write, ensure_dir
    from csa.tomldoc import dumps

    entries = {path: {k: str(files[path][k]) for k in ("sha256", "trusted_at") if k in files[path]}
               for path in sorted(files)}
    ensure_dir(store_path().parent)
    atomic_write(store_path(), ("# Managed by `csa trust`: project config files whose content "
                                "you trusted.\n" + dumps({"files": entries})).encode())


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def is_trusted(path: Path, data: bytes) -> bool:
    entry = _load().get(str(path))
    return isinstance(entry, dict) and entry.get("sha256") == digest(data)


def trust_file(path: Path) -> dict:
    """Trust `path` as it is now; returns its entry. CsaError when there is no file."""
    from csa.safeio import read_bytes
    from csa.state import iso_ms, utcnow

    try:
        data = read_bytes(path, "config")
    except FileNotFoundError as e:
        raise CsaError(f"{path}: no project config to trust") from e
    files = _load()
    files[str(path)] = {"sha256": digest(data), "trusted_at": iso_ms(utcnow())}
    _save(files)
    return {"path": str(path), **files[str(path)]}


def revoke(path: Path) -> bool:
    """Forget the trust of `path`; False when it was not trusted."""
    files = _load()
    if files.pop(str(path), None) is None:
        return False
    _save(files)
    return True


def listing() -> list[dict]:
    """Every trusted file with whether its content still matches."""
    from csa.safeio import read_bytes

    out = []
    for path, entry in sorted(_load().items()):
        try:
            state = "trusted" if entry.get("sha256") == digest(read_bytes(path, "config")) \
                else "changed since trusted"
        except (OSError, CsaError):
            state = "missing"
        out.append({"path": path, "sha256": entry.get("sha256"),
                    "trusted_at": entry.get("trusted_at"), "state": state})
    return out


def status(path: Path, data: bytes | None) -> str:
    """`none`, `trusted`, `untrusted` or `changed` (for doctor)."""
    if data is None:
        return "none"
    entry = _load().get(str(path))
    if not isinstance(entry, dict):
        return "untrusted"
    return "trusted" if entry.get("sha256") == digest(data) else "changed"


def code_keys(d: dict) -> list[str]:
    """The dotted keys of `d` that would run code."""
    keys = [k for k in TOP_CODE_KEYS if k in d]
    for name, tool in (d.get("tools") or {}).items():
        if isinstance(tool, dict):
            keys += [f"tools.{name}.{k}" for k in TOOL_CODE_KEYS if k in tool]
    return keys


def strip_untrusted(d: dict, path: Path, data: bytes) -> list[str]:
    """Drop the code-running settings of an untrusted project config (in place) and
    warn once per file; returns the dropped keys."""
    keys = code_keys(d)
    if not keys or is_trusted(path, data):
        return []
    for k in TOP_CODE_KEYS:
        d.pop(k, None)
    for tool in (d.get("tools") or {}).values():
        if isinstance(tool, dict):
            for k in TOOL_CODE_KEYS:
                tool.pop(k, None)
    if str(path) not in _warned:
        _warned.add(str(path))
        print(f"csa: ignoring {', '.join(keys)} from {path} (not trusted; review the file, "
              "then run `csa trust`)", file=sys.stderr)
    return keys
