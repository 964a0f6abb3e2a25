"""`csa hooks install`: register csa's journal hooks in Claude Code's user settings.

    >>> report = install()                       # ~/.claude/settings.json (or $CLAUDE_CONFIG_DIR)
    >>> report["added"], report["present"], report["backup"]
    (['PreCompact', 'SessionStart', 'UserPromptSubmit'], [], '.../settings.json.csa-backup-...')

The settings file is merged, never overwritten: every other key and every other hook
stays as it was, csa's handler is appended to each event's list, and an event that
already has a csa handler (any command running `hooks run <event>`) is left alone, so a
second install changes nothing and writes nothing. Before a change the previous file
is copied to `settings.json.csa-backup-<UTC time>`. A file that is not a JSON object
is refused with one line saying what to do.
"""

from __future__ import annotations

import json
import os
import re
import shlex
from pathlib import Path

from csa.errors import CsaError

# Claude Code event -> the `csa hooks run` argument.
EVENTS = {"PreCompact": "pre-compact", "SessionStart": "session-start",
          "UserPromptSubmit": "user-prompt-submit"}
TIMEOUT_S = 10
_OURS = re.compile(r"\bhooks run (pre-compact|session-start|user-prompt-submit)\b")


class SettingsError(CsaError):
    """A settings file csa cannot merge into."""


def settings_path(env=None) -> Path:
    """Claude Code's user settings: $CLAUDE_CONFIG_DIR/settings.json, else ~/.claude/."""
    env = os.environ if env is None else env
    base = env.get("CLAUDE_CONFIG_DIR") or os.path.join(os.path.expanduser("~"), ".claude")
    return Path(base) / "settings.json"


def hook_command(event: str, csa: str | None = None) -> str:
    """The shell command Claude Code runs; `|| true`: a missing csa never blocks a prompt."""
    if csa is None:
        from csa.selfbin import csa_bin

        csa = csa_bin()
    return f"{shlex.quote(csa)} hooks run {EVENTS[event]} || true"


def _load(path: Path) -> dict:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as e:
        raise SettingsError(f"{path}: cannot read it ({e}); fix its permissions or encoding, "
                            "then rerun csa hooks install") from e
    if not text.strip():
        return {}
    try:
        data = json.loads(text)
    except ValueError as e:
        raise SettingsError(f"{path} is not valid JSON ({e}); fix it (or move it away) and "
                            "rerun csa hooks install") from e
    if not isinstance(data, dict):
        raise SettingsError(f"{path} is not a JSON object; fix it (or move it away) and rerun "
                            "csa hooks install")
    hooks = data.get("hooks", {})
    if not isinstance(hooks, dict) or any(not isinstance(v, list) for v in hooks.values()):
        raise SettingsError(f"{path}: \"hooks\" must map event names to lists; fix it and "
                            "rerun csa hooks install")
    return data


def _ours(group, event: str) -> bool:
    """A matcher group holding a csa handler for `event`."""
    handlers = group.get("hooks") if isinstance(group, dict) else None
    return any(isinstance(h, dict) and (m := _OURS.search(str(h.get("command", ""))))
               and m.group(1) == EVENTS[event] for h in handlers or [])


def _save(path: Path, data: dict, old_exists: bool) -> str | None:
    """Write `data` (atomically, same mode), after copying the old file aside."""
    import shutil

    from csa.fsutil import atomic_write
    from csa.state import utcnow

    backup = None
    real = Path(os.path.realpath(path))  # a dotfiles symlink stays a symlink
    mode = real.stat().st_mode & 0o777 if old_exists else 0o600
    if old_exists:
        backup = str(real) + ".csa-backup-" + utcnow().strftime("%Y%m%dT%H%M%S%fZ")
        shutil.copy2(real, backup)
    real.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(real, (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode())
    os.chmod(real, mode)
    return backup


def install(path: Path | None = None, *, dry_run: bool = False, csa: str | None = None) -> dict:
    """Add csa's handler to each event that has none; returns what changed."""
    path = path or settings_path()
    data = _load(path)
    hooks = data.setdefault("hooks", {})
    added, present = [], []
    for event in EVENTS:
        groups = hooks.setdefault(event, [])
        if any(_ours(g, event) for g in groups):
            present.append(event)
            continue
        groups.append({"hooks": [{"type": "command", "command": hook_command(event, csa),
                                  "timeout": TIMEOUT_S}]})
        added.append(event)
    backup = _save(path, data, path.exists()) if added and not dry_run else None
    return {"settings": str(path), "added": added, "present": present, "backup": backup,
            "dry_run": dry_run}


def uninstall(path: Path | None = None, *, dry_run: bool = False) -> dict:
    """Remove csa's handlers (and only them); events left empty are dropped."""
    path = path or settings_path()
    data = _load(path)
    hooks = data.get("hooks", {})
    removed = []
    for event in EVENTS:
        groups = hooks.get(event, [])
        kept = []
        for group in groups:
            if _ours(group, event):
                removed.append(event)
                rest = [h for h in group["hooks"]
                        if not _OURS.search(str(h.get("command", "")) if isinstance(h, dict)
                                            else "")]
                if rest:
                    kept.append({**group, "hooks": rest})
            else:
                kept.append(group)
        if kept:
            hooks[event] = kept
        else:
            hooks.pop(event, None)
    if "hooks" in data and not hooks:
        del data["hooks"]
    backup = _save(path, data, True) if removed and not dry_run else None
    return {"settings": str(path), "removed": sorted(set(removed)), "backup": backup,
            "dry_run": dry_run}
