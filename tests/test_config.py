import json

import pytest

from csa.config import load_config
from csa.errors import ConfigError
from csa.trust import trust_file
from helpers import invoke


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_defaults(project):
    cfg = load_config(project)
    assert cfg.get("max_recursion_depth") == 5
    assert cfg.source("max_recursion_depth") == "default"
    assert cfg.tool("codex").binary is None


def test_project_overrides_global_key_by_key(project, isolated_env):
    g = isolated_env / "home" / ".config" / "csa" / "config.toml"
    write(g, 'default_tool = "codex"\n[tools.codex]\nbinary = "/opt/codex"\nmodel = "a"\n')
    p = project / ".csa" / "config.toml"
    write(p, '[tools.codex]\nmodel = "b"\nenv = { FOO = "1" }\n')
    trust_file(p)  # env runs code: honoured once the file is trusted (issue 14)
    cfg = load_config(project)
    t = cfg.tool("codex")
    assert (t.binary, t.model, t.env) == ("/opt/codex", "b", {"FOO": "1"})
    assert cfg.source("tools.codex.binary") == str(g)
    assert cfg.source("tools.codex.model") == str(p)
    assert cfg.get("default_tool") == "codex"


@pytest.mark.parametrize("text, msg", [
    ("max_recursion_depth = 'x'", "max_recursion_depth"),
    ("nonsense = 1", "unknown key 'nonsense'"),
    ("[tools.codex]\nbinnary = 'x'", "tools.codex.binnary"),
    ("this is not toml", "invalid config"),
    ("memory_policy = 'maybe'", "memory_policy"),
])
def test_bad_config_is_one_clear_error(project, text, msg):
    write(project / ".csa" / "config.toml", text)
    with pytest.raises(ConfigError, match=msg):
        load_config(project)
    res = invoke("config", "show")
    assert res.exit_code == 1
    assert "invalid config" in res.stderr and "Traceback" not in res.stderr


def test_config_show_lists_sources(project):
    write(project / ".csa" / "config.toml", "max_recursion_depth = 3\n")
    res = invoke("config", "show")
    assert res.exit_code == 0
    line = next(ln for ln in res.stdout.splitlines() if ln.startswith("max_recursion_depth"))
    assert "3" in line and ".csa/config.toml" in line
    data = json.loads(invoke("config", "show", "--json").stdout)
    assert data["values"]["max_recursion_depth"] == 3
    assert data["sources"]["max_recursion_depth"].endswith(".csa/config.toml")
