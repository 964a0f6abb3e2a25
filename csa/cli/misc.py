"""`csa config show` and `csa doctor`."""

from __future__ import annotations

import click

from csa.cli.output import emit_json, json_option, key_values, table, write_text
from csa.cli.session import cd_option


@click.group("config")
def config():
    """Show the effective configuration.

    \b
    Examples:
      csa config show
      csa config show --json
    """


@config.command("show")
@json_option
@cd_option
def show(as_json, cd):
    """Print every effective setting and the file it came from.

    \b
    Examples:
      csa config show
      csa config show --json | jq .values.tools
    """
    from csa.config import global_config_path, load_config, project_config_path
    from csa.paths import project_root

    root = project_root(cd)
    cfg = load_config(root)
    if as_json:
        emit_json({"values": cfg.values, "sources": {k: s for k, _v, s in cfg.flat()},
                   "files": {"global": str(global_config_path()),
                             "project": str(project_config_path(root))}})
        return
    rows = [[k, _fmt(v), s] for k, v, s in cfg.flat()]
    head = (f"# global:  {global_config_path()}\n"
            f"# project: {project_config_path(root)}\n")
    write_text(head + table(["KEY", "VALUE", "SOURCE"], rows))


def _fmt(value) -> str:
    import orjson

    if isinstance(value, str):
        return value
    return orjson.dumps(value).decode()


@click.command("doctor")
@json_option
@cd_option
def doctor(as_json, cd):
    """Report the state dir, the effective config and which AI CLIs are installed.

    Missing AI CLIs are reported with how to install them; the exit code is 1
    only for a real problem (unreadable config, unwritable state dir).

    \b
    Examples:
      csa doctor
      csa doctor --json
    """
    import sys

    from csa.doctor import diagnose

    report = diagnose(cd)
    if as_json:
        emit_json(report)
    else:
        pairs = [("csa", report["version"]), ("python", report["python"]),
                 ("state dir", report["state_base"]), ("project", report["project_root"]),
                 ("project state", report["project_state_dir"]),
                 ("sessions", report["session_count"]),
                 ("config files", ", ".join(report["config_files"]) or "(none; defaults)"),
                 ("default tool", report["default_tool"])]
        out = key_values(pairs) + "\nAI CLIs:\n"
        rows = []
        for t in report["tools"]:
            status = "ok" if t["found"] else "missing"
            rows.append([t["tool"], status, t["path"] or t["binary"], t["version"] or "-"])
        out += table(["TOOL", "STATUS", "BINARY", "VERSION"], rows)
        missing = [t for t in report["tools"] if not t["found"]]
        if missing:
            out += "\nTo install a missing CLI: " + "; ".join(
                f"npm install -g {t['package']}" for t in missing) + "\n"
            out += "or point csa at it: tools.<tool>.binary in the config file.\n"
        for problem in report["problems"]:
            out += f"problem: {problem}\n"
        write_text(out)
    sys.exit(1 if report["problems"] else 0)
