"""`csa config get/set/unset`: typed, validated, in-place edits that keep the user's file."""

import json
import os
import stat
import tomllib

import pytest

from helpers import invoke

PROJECT_TEXT = """\
# csa settings for this repo
default_tool = "codex"   # we mostly use codex

# Codex: pinned for reproducible reviews
[tools.codex]
# the model every review uses
model = "gpt-4.1"  # bump with care
binary = "/opt/codex/bin/codex"
args = ["--profile", "review"]

[events]
keep = 7
"""


def global_file(isolated_env):
    return isolated_env / "home" / ".config" / "csa" / "config.toml"


def test_set_project_key_keeps_comments_and_other_keys_byte_identical(project):
    path = project / ".csa" / "config.toml"
    path.parent.mkdir()
    path.write_text(PROJECT_TEXT)
    res = invoke("config", "set", "tools.codex.model", "gpt-5", "--project")
    assert res.exit_code == 0, res.stderr
    after = path.read_text()
    assert after == PROJECT_TEXT.replace('model = "gpt-4.1"', 'model = "gpt-5"')
    assert "# the model every review uses\nmodel = \"gpt-5\"  # bump with care" in after
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert invoke("config", "get", "tools.codex.model").stdout == "gpt-5\n"


def test_set_creates_the_global_file_private_and_types_values(project, isolated_env):
    for key, raw in [("max_recursion_depth", "3"), ("with_journal", "yes"),
                     ("gc.retire_after_days", "2.5"), ("tools.codex.args", '["-a", "b c"]'),
                     ("tools.claude-code.env.BASE_URL", "http://127.0.0.1:9"),
                     ("default_tool", "codex")]:
        res = invoke("config", "set", key, raw)
        assert res.exit_code == 0, (key, res.stderr)
    path = global_file(isolated_env)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700
    data = tomllib.loads(path.read_text())
    assert data["max_recursion_depth"] == 3 and data["with_journal"] is True
    assert data["gc"] == {"retire_after_days": 2.5}
    assert data["tools"]["codex"]["args"] == ["-a", "b c"]
    assert data["tools"]["claude-code"]["env"] == {"BASE_URL": "http://127.0.0.1:9"}
    got = json.loads(invoke("config", "get", "max_recursion_depth", "--json").stdout)
    assert got == {"key": "max_recursion_depth", "value": 3, "source": str(path)}


@pytest.mark.parametrize("key, raw, message", [
    ("no_such_key", "1", "unknown config key 'no_such_key'"),
    ("tools.codex.modle", "x", "unknown config key 'tools.codex.modle'"),
    ("events.keep", "many", "takes an integer"),
    ("events.keep", "5000", "between 0 and 1000"),
    ("with_journal", "maybe", "takes true or false"),
    ("memory_policy", "sometimes", "warn, refuse or off"),
    ("tools.codex.max_concurrent", "-1", ">= 0"),
    ("tools.codex.args", "--flag", "list of strings"),
    ("tools.codex", "x", "is a table"),
])
def test_bad_key_or_value_is_one_line_and_leaves_the_file_alone(project, key, raw, message):
    path = project / ".csa" / "config.toml"
    path.parent.mkdir()
    path.write_text(PROJECT_TEXT)
    res = invoke("config", "set", key, raw, "--project")
    assert res.exit_code == 2
    assert message in res.stderr and len(res.stderr.strip().splitlines()) == 1
    assert path.read_text() == PROJECT_TEXT


def test_unset_removes_the_key_and_tables_it_empties(project):
    path = project / ".csa" / "config.toml"
    path.parent.mkdir()
    path.write_text('default_tool = "codex"\n\n[tools.gemini-cli]\nmodel = "m"\n')
    assert invoke("config", "unset", "tools.gemini-cli.model", "--project").exit_code == 0
    assert path.read_text() == 'default_tool = "codex"\n'
    res = invoke("config", "unset", "tools.gemini-cli.model", "--project")
    assert res.exit_code == 1 and "is not set in" in res.stderr


def test_unset_can_remove_a_typo_that_breaks_the_file(project):
    path = project / ".csa" / "config.toml"
    path.parent.mkdir()
    path.write_text('# keep me\nmax_recursion_depht = 3\nmemory_policy = "off"\n')
    assert invoke("config", "show").exit_code == 1
    assert invoke("config", "unset", "max_recursion_depht", "--project").exit_code == 0
    assert path.read_text() == '# keep me\nmemory_policy = "off"\n'
    assert invoke("config", "show").exit_code == 0


def test_get_unset_and_unknown_keys(project):
    res = invoke("config", "get", "tools.codex.model")
    assert res.exit_code == 1 and "is not set" in res.stderr and res.stdout == ""
    assert invoke("config", "get", "bogus").exit_code == 2
    assert invoke("config", "get", "max_recursion_depth").stdout == "5\n"
    events = json.loads(invoke("config", "get", "events", "--json").stdout)
    assert events["value"]["keep"] == 3 and events["source"] == "default"


def test_a_symlinked_config_is_edited_at_its_target(project, tmp_path, isolated_env):
    real = tmp_path / "dotfiles" / "csa.toml"
    real.parent.mkdir()
    real.write_text("# from my dotfiles\nmax_recursion_depth = 2\n")
    link = global_file(isolated_env)
    link.parent.mkdir(parents=True)
    link.symlink_to(real)
    assert invoke("config", "set", "max_recursion_depth", "4").exit_code == 0
    assert link.is_symlink()
    assert real.read_text() == "# from my dotfiles\nmax_recursion_depth = 4\n"


def test_an_unparseable_file_is_not_touched(project):
    path = project / ".csa" / "config.toml"
    path.parent.mkdir()
    path.write_text("this is = = not toml\n")
    res = invoke("config", "set", "default_tool", "codex", "--project")
    assert res.exit_code == 1 and "invalid config" in res.stderr
    assert path.read_text() == "this is = = not toml\n"
