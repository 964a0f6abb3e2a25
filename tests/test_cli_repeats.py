"""A one-value option given twice is refused on every command (click alone would keep the
last value and drop the others without a word: `note --next a --next b` lost a step)."""

from __future__ import annotations

import click
from click.testing import CliRunner

from csa.cli import cli


def one_value_options():
    """(command path, option) for every option of every command that takes one value."""
    found = []

    def walk(group, path):
        for name in group.list_commands(None):
            cmd = group.get_command(None, name)
            if isinstance(cmd, click.Group):
                walk(cmd, [*path, name])
                continue
            for p in cmd.params:
                if isinstance(p, click.Option) and not (p.multiple or p.count or p.is_flag):
                    found.append(([*path, name], max(p.opts, key=len)))

    walk(cli, [])
    return found


def test_every_one_value_option_given_twice_is_refused_before_anything_runs():
    options = one_value_options()
    paths = {" ".join(path) for path, _ in options}
    assert {"run", "session note", "session list", "config show"} <= paths
    runner = CliRunner()
    for path, opt in options:
        res = runner.invoke(cli, [*path, opt, "1", opt, "2"])
        assert res.exit_code == 2, (path, opt, res.output)
        assert f"{opt} was given more than once" in res.output, (path, opt, res.output)


def test_options_meant_to_repeat_still_do(tmp_path):
    runner = CliRunner()
    res = runner.invoke(cli, ["session", "list", "--json", "--json"])
    assert res.exit_code == 0, res.output  # a flag twice is harmless
    res = runner.invoke(cli, ["session", "note", "--task", "A", "--task", "B", "--help"])
    assert res.exit_code == 0, res.output  # --task is multiple
