"""Cost (issue 18): turns, sessions and trees priced with the genai-prices table."""

from __future__ import annotations

import json

import pytest
from genai_prices import Usage, calc_price

from runkit import csa, fake_env, session_id_from


@pytest.fixture
def env(tmp_path, project):
    return fake_env(tmp_path)


def _table(model, provider, **usage) -> float:
    return float(calc_price(Usage(**usage), model, provider_id=provider).total_price)


def _rows(env, project) -> dict:
    res = csa("session", "list", "--tree", "--json", env=env, cwd=project)
    return {r["id"]: r for r in json.loads(res.stdout)}


def test_a_fake_claude_turn_costs_what_the_table_says(env, project):
    from csa.cost import money

    res = csa("run", "--tool", "claude", "-m", "claude-sonnet-4-5", "hi", env=env, cwd=project)
    sid = session_id_from(res.stderr)
    tokens = json.loads(csa("session", "result", "-s", sid, "--json", env=env,
                            cwd=project).stdout)["tokens"]
    want = _table("claude-sonnet-4-5", "anthropic",
                  input_tokens=tokens["input_tokens"] + tokens.get("cache_read_input_tokens", 0)
                  + tokens.get("cache_creation_input_tokens", 0),
                  cache_read_tokens=tokens.get("cache_read_input_tokens", 0),
                  cache_write_tokens=tokens.get("cache_creation_input_tokens", 0),
                  output_tokens=tokens["output_tokens"])
    assert want > 0
    assert _rows(env, project)[sid]["cost_usd"] == pytest.approx(want)
    shown = csa("session", "result", "-s", sid, env=env, cwd=project).stdout
    assert f"cost         {money(want)}" in shown
    assert f"cost              {money(want)}" in csa("session", "show", "-s", sid, env=env,
                                                      cwd=project).stdout


def test_a_fake_codex_turn_costs_what_the_table_says(env, project):
    sid = session_id_from(csa("run", "--tool", "codex", "-m", "gpt-5", "hi", env=env,
                              cwd=project).stderr)
    tokens = json.loads(csa("session", "result", "-s", sid, "--json", env=env,
                            cwd=project).stdout)["tokens"]
    want = _table("gpt-5", "openai", input_tokens=tokens["input_tokens"],
                  cache_read_tokens=tokens.get("cached_input_tokens", 0),
                  output_tokens=tokens["output_tokens"])
    assert want > 0 and _rows(env, project)[sid]["cost_usd"] == pytest.approx(want)


def test_an_unknown_price_is_unknown_never_zero(env, project):
    sid = session_id_from(csa("run", "--tool", "codex", "-m", "no-such-model-x", "hi", env=env,
                              cwd=project).stderr)
    no_model = session_id_from(csa("run", "--tool", "codex", "hi", env=env,
                                   cwd=project).stderr)
    rows = _rows(env, project)
    assert rows[sid]["cost_usd"] is None and rows[no_model]["cost_usd"] is None
    assert "cost         unknown" in csa("session", "result", "-s", sid, env=env,
                                         cwd=project).stdout
    tree = csa("session", "list", "--tree", env=env, cwd=project).stdout
    assert "$0.000000" not in tree and tree.count("unknown") == 2
    usage = json.loads(csa("usage", "--json", env=env, cwd=project).stdout)
    assert [g["cost_usd"] for g in usage] == [None]


def test_a_tree_row_shows_its_subtree_total(env, project):
    parent = session_id_from(csa("run", "--tool", "codex", "-m", "gpt-5", "parent", env=env,
                                 cwd=project).stderr)
    child_env = {**env, "CSA_SESSION_ID": parent, "CSA_DEPTH": "1"}
    child = session_id_from(csa("run", "--tool", "claude", "-m", "claude-sonnet-4-5", "kid",
                                env=child_env, cwd=project).stderr)
    rows = _rows(env, project)
    assert rows[child]["parent_session_id"] == parent
    assert rows[parent]["tree_cost_usd"] == pytest.approx(
        rows[parent]["cost_usd"] + rows[child]["cost_usd"])
    by_model = {g["model"]: g for g in json.loads(
        csa("usage", "--by", "model", "--json", env=env, cwd=project).stdout)}
    assert set(by_model) == {"gpt-5", "claude-sonnet-4-5"}
    assert by_model["gpt-5"]["cost_usd"] == pytest.approx(rows[parent]["cost_usd"])
    text = csa("usage", "--by", "tool", env=env, cwd=project).stdout
    assert text.splitlines()[0].split() == ["TOOL", "SESSIONS", "INPUT", "OUTPUT", "TOKENS",
                                            "COST"]
    assert text.splitlines()[-1].startswith("total")


def test_known_prices_are_cached_so_the_table_is_imported_once(tmp_path):
    import os
    import subprocess
    import sys

    from helpers import REPO

    code = ("import sys; from csa.cost import turn_cost; "
            "c = turn_cost('codex', 'gpt-5', {'input_tokens': 1000, 'output_tokens': 10}); "
            "print(round(c, 9), 'genai_prices' in sys.modules)")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    first, second = (subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                                    text=True).stdout.split() for _ in range(2))
    want = round(_table("gpt-5", "openai", input_tokens=1000, output_tokens=10), 9)
    assert first == [str(want), "True"] and second == [str(want), "False"]
