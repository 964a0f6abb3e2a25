"""`csa config show|get|set|unset` and `csa doctor`."""

from __future__ import annotations

import click

from csa.cli import LazyGroup
from csa.cli.output import emit_json, json_option, key_values, table, write_text
from csa.cli.session import cd_option


@click.group("config", cls=LazyGroup)
def config():
    """Show the effective configuration, or read and edit one key.

    Settings come from built-in defaults, then the global file
    ($XDG_CONFIG_HOME/csa/config.toml), then the project's .csa/config.toml.
    `set` and `unset` edit one of those files in place (the global one unless
    --project), keeping its comments and layout.

    \b
    Examples:
      csa config show
      csa config get tools.codex.model
      csa config set tools.codex.model gpt-5 --project
      csa config unset tools.codex.model --project
    """


def project_flag(f):
    return click.option("--project", "in_project", is_flag=True,
                        help="Edit the project's .csa/config.toml instead of the global file.")(f)


def _config_file(in_project: bool, cd):
    from csa.config import global_config_path, project_config_path
    from csa.paths import project_root

    return project_config_path(project_root(cd)) if in_project else global_config_path()


@config.command("get")
@click.argument("key")
@json_option
@cd_option
def get(key, as_json, cd):
    """Print one key's effective value.

    KEY is dotted (tools.codex.model); --json adds where the value came from.

    Exit code 1 when KEY is not set anywhere, 2 when it is not a config key.

    \b
    Examples:
      csa config get default_tool
      csa config get tools.codex.model
      csa config get events --json
    """
    from csa.config import load_config
    from csa.configedit import get_key
    from csa.paths import project_root

    value, source = get_key(load_config(project_root(cd)), key)
    if as_json:
        emit_json({"key": key, "value": value, "source": source})
    else:
        write_text(_fmt(value) + "\n")


@config.command("set", context_settings={"ignore_unknown_options": True})
@click.argument("key")
@click.argument("value")
@project_flag
@cd_option
def set_(key, value, in_project, cd):
    """Set one key in a config file.

    The global file, or the project's .csa/config.toml with --project.

    VALUE is typed by the key: a number, true/false, a string, or a TOML array
    for a list (tools.<tool>.args). The file keeps its comments and layout; an
    unknown key or a bad value changes nothing (exit 2).

    \b
    Examples:
      csa config set default_tool codex
      csa config set tools.codex.model gpt-5 --project
      csa config set tools.codex.max_concurrent 2
      csa config set tools.codex.args '["--profile", "work"]'
      csa config set tools.claude-code.env.ANTHROPIC_BASE_URL http://127.0.0.1:8080
      csa config set events.keep 5
    """
    from csa.configedit import set_key

    path = _config_file(in_project, cd)
    typed = set_key(path, key, value)
    click.echo(f"{key} = {_fmt(typed)}  ({path})", err=True)


@config.command("unset")
@click.argument("key")
@project_flag
@cd_option
def unset(key, in_project, cd):
    """Remove one key from a config file.

    The global file, or the project's .csa/config.toml with --project.

    Any key in the file can be removed, also one csa does not know (a typo).
    Exit code 1 when the file does not set KEY.

    \b
    Examples:
      csa config unset tools.codex.model --project
      csa config unset memory_policy
    """
    from csa.configedit import unset_key

    path = _config_file(in_project, cd)
    unset_key(path, key)
    click.echo(f"{key} removed ({path})", err=True)


@config.command("show")
@json_option
@cd_option
def show(as_json, cd):
    """Print every effective setting and the file it came from.

    \b
    Examples:
      csa config show
      csa config show --json | jq .values.tools

    Exit code 1 when a setting is wrong (an unknown default_tool), after the table.
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
    from csa.config import problems

    for problem in problems(cfg):
        click.echo(f"problem: {problem}", err=True)
    if problems(cfg):
        raise SystemExit(1)


def _fmt(value) -> str:
    import orjson

    if isinstance(value, str):
        return value
    return orjson.dumps(value).decode()


def _trust_line(pc: dict) -> str:
    if pc["trust"] == "none":
        return "(none)"
    return f"{pc['path']}: {pc['trust']}" + (f" ({pc['hint']})" if pc["hint"] else "")


@click.command("doctor")
@json_option
@cd_option
def doctor(as_json, cd):
    """Report the state dir, the effective config, which AI CLIs are installed, and the
    third-party tools that installed packages provide. A tool the config runs over ACP
    (transport = "acp") is started and asked `initialize`.

    Missing AI CLIs are reported with how to install them; the exit code is 1
    only for a real problem (unreadable config, unwritable state dir, an ACP tool that
    does not answer initialize).

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
                 ("default tool", report["default_tool"]),
                 ("project config", _trust_line(report["project_config"]))]
        out = key_values(pairs) + "\nAI CLIs:\n"
        rows = []
        for t in report["tools"]:
            status = "ok" if t["found"] else "missing"
            rows.append([t["tool"], status, t["path"] or t["binary"], t["version"] or "-"])
        out += table(["TOOL", "STATUS", "BINARY", "VERSION"], rows)
        if report["plugins"]:
            out += "\nThird-party tools (entry points in group csa.tools):\n" + table(
                ["TOOL", "PACKAGE", "ENTRY POINT", "STATUS"],
                [[p["tool"], p["package"] or "-", p["entry_point"], p["status"]]
                 for p in report["plugins"]])
        if report["acp"]:
            out += "\nACP tools (initialize):\n" + table(
                ["TOOL", "STATUS", "COMMAND", "AGENT"],
                [[r["tool"], "ok" if r["ok"] else "failed", " ".join(r["command"] or []) or "-",
                  f"{r['agent']} {r['version']}" + (" (loadSession)" if r["load_session"]
                                                    else "") if r["ok"] else "-"]
                 for r in report["acp"]])
        missing = [t for t in report["tools"] if not t["found"] and t["builtin"]]
        if missing:
            out += "\nTo install a missing CLI: " + "; ".join(
                f"npm install -g {t['package']}" for t in missing) + "\n"
            out += "or point csa at it: tools.<tool>.binary in the config file.\n"
        for problem in report["problems"]:
            out += f"problem: {problem}\n"
        write_text(out)
    sys.exit(1 if report["problems"] else 0)
