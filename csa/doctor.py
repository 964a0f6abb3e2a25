"""`csa doctor`: what csa sees — state dir, config, each AI CLI with its version, the
third-party tools installed through the `csa.tools` entry point group, and each tool the
config runs over ACP (checked by running `initialize`).

    >>> report = diagnose()
    >>> [(t["tool"], t["found"], t["version"]) for t in report["tools"]]
    >>> [(p["tool"], p["package"], p["status"]) for p in report["plugins"]]
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

from csa import __version__
from csa.config import load_config
from csa.errors import CsaError
from csa.paths import project_root, state_base
from csa.store import Store
from csa.tools import BUILTIN, get_tool, plugins


def _version(argv: list[str]) -> str | None:
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=15,
                             stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired):
        return None
    text = (out.stdout or out.stderr).strip().splitlines()
    return text[0][:120] if text else None


def ownership_problems(base, pdir) -> list[str]:
    """Each state dir another user owns or could write, with the command that fixes it."""
    from csa.perms import fix_hint, owner_problem, state_dirs

    out = []
    for i, path in enumerate(state_dirs(base, pdir)):
        problem = owner_problem(path, follow=i == 0)
        if problem:
            out.append(f"{path} {problem}: csa refuses to use it; {fix_hint(path, problem)}")
    return out


def state_dir_problems(base) -> list[str]:
    """The state dir must be (or be creatable as) a directory csa can write: a file in its
    place, a file on its path or a read-only directory would fail the first `csa run`."""
    import tempfile

    fix = "set CSA_STATE_DIR to a writable directory"
    existing = next((p for p in (base, *base.parents) if os.path.lexists(p)), None)
    if existing is None:
        return []
    if not existing.is_dir():
        what = "is not a directory" if existing == base else f"cannot be created: {existing} " \
            "is not a directory"
        return [f"state dir {base} {what}; {fix}"]
    try:
        if existing == base:
            fd, probe = tempfile.mkstemp(prefix=".doctor-", dir=base)
            os.close(fd)
            os.unlink(probe)
        elif not os.access(existing, os.W_OK | os.X_OK):
            raise PermissionError(13, "Permission denied")
    except OSError as e:
        where = base if existing == base else f"{base} (its parent {existing})"
        return [f"state dir {where} is not writable ({e.strerror or e}); {fix}"]
    return []


def project_trust(root) -> dict:
    """The project config's trust state: none, trusted, untrusted or changed."""
    from csa import trust
    from csa.config import project_config_path
    from csa.safeio import read_bytes

    path = project_config_path(root)
    try:
        data = read_bytes(path, "config")
    except (OSError, CsaError):
        data = None
    state = trust.status(path, data)
    hint = {"untrusted": "its binary/env/args are ignored; review it, then run `csa trust`",
            "changed": "edited since you trusted it; its binary/env/args are ignored until "
                       "`csa trust` again"}.get(state)
    return {"path": str(path), "trust": state, "hint": hint}


def acp_checks(cfg, root) -> list[dict]:
    """Each tool the config runs over ACP, checked by `initialize` (csa.acp.probe)."""
    from csa.acp.probe import check, configured

    names = configured(cfg)
    if not names:
        return []
    with ThreadPoolExecutor(max_workers=len(names)) as pool:
        return list(pool.map(lambda n: check(n, cfg, str(root)), names))


def diagnose(cd: str | None = None) -> dict:
    problems: list[str] = []
    base = state_base()
    root = project_root(cd)
    try:
        cfg = load_config(root)
    except CsaError as e:
        problems.append(str(e))
        from csa.config import DEFAULTS, Config

        cfg = Config(values=dict(DEFAULTS), sources={}, files=[])
    store = Store(base, root)
    pdir = store.dir
    try:
        count = len(store.ids())
    except OSError:
        count = 0
    problems += state_dir_problems(base)
    problems += ownership_problems(base, pdir)
    from csa.config import problems as config_problems

    problems += config_problems(cfg)
    trust = project_trust(root)

    def probe(name: str) -> dict:
        tool = get_tool(name)
        configured = cfg.tool(name).binary
        wanted = os.path.expanduser(configured) if configured else tool.binary
        path = shutil.which(wanted)
        return {"tool": name, "binary": wanted, "path": path, "found": path is not None,
                "package": tool.package, "configured": configured is not None,
                "builtin": name in BUILTIN,
                "version": _version(tool.version_argv(path)) if path else None}

    extra = plugins()  # the only place besides an unknown --tool that reads entry points
    for p in extra:
        if p["status"] != "ok":
            problems.append(f"third-party tool {p['tool']}: {p['error']}")
    names = [*BUILTIN, *(p["tool"] for p in extra if p["status"] == "ok")]
    with ThreadPoolExecutor(max_workers=len(names)) as pool:
        tools = list(pool.map(probe, names))
    acp = acp_checks(cfg, root)
    problems += [f"ACP tool {r['tool']}: {r['error']}" for r in acp if not r["ok"]]
    return {
        "version": __version__, "python": sys.version.split()[0], "state_base": str(base),
        "project_root": str(root), "project_state_dir": str(pdir), "session_count": count,
        "config_files": [str(f) for f in cfg.files], "default_tool": cfg.get("default_tool"),
        "project_config": trust,
        "tools": tools, "plugins": extra, "acp": acp, "problems": problems,
    }
