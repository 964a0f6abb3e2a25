"""Every command and option is documented in docs/commands.md and has help text."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest

from csa.cli import cli

DOCS = Path(__file__).resolve().parent.parent / "docs" / "commands.md"


def walk(group: click.Group, prefix: str):
    ctx = click.Context(group)
    for name in group.list_commands(ctx):
        cmd = group.get_command(ctx, name)
        if cmd is None or cmd.hidden:
            continue
        path = f"{prefix} {name}"
        yield path, cmd
        if isinstance(cmd, click.Group):
            yield from walk(cmd, path)


COMMANDS = list(walk(cli, "csa"))


def sections() -> dict[str, str]:
    text = DOCS.read_text()
    out: dict[str, str] = {}
    parts = re.split(r"^### `(csa[^`]*)`\s*$", text, flags=re.M)
    for i in range(1, len(parts), 2):
        out[parts[i].strip()] = parts[i + 1]
    return out


def test_all_lazy_commands_load():
    names = [p for p, _ in COMMANDS]
    for expected in ("csa run", "csa session list", "csa session result", "csa doctor"):
        assert expected in names


@pytest.mark.parametrize("path, cmd", COMMANDS, ids=[p for p, _ in COMMANDS])
def test_command_documented_with_help(path, cmd):
    assert (cmd.help or cmd.short_help), f"{path} has no help text"
    docs = sections()
    if isinstance(cmd, click.Group) and path != "csa":
        assert path in docs or any(k.startswith(path + " ") for k in docs), path
        return
    assert path in docs, f"{path} is missing a '### `{path}`' section in docs/commands.md"
    body = docs[path]
    for param in cmd.params:
        if not isinstance(param, click.Option) or param.hidden:
            continue
        assert param.help, f"{path} {param.opts} has no help text"
        longest = max(param.opts, key=len)
        assert longest in body, f"{path}: option {longest} is not documented"


@pytest.mark.parametrize("path, cmd", COMMANDS, ids=[p for p, _ in COMMANDS])
def test_command_help_has_examples(path, cmd):
    assert "Example" in (cmd.help or ""), f"{path}: its --help shows no examples"
