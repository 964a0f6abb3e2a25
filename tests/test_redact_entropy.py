"""Issue 13: anchorless secrets (near a secret word or a provider's name) and upstream coverage."""

from __future__ import annotations

import random
import string
from pathlib import Path

import pytest

from csa.redact import Redactor
from csa.redact_entropy import looks_random, near_spans
from csa.secret_rules import (
    ASSIGNED_PROVIDER_WORDS,
    PROVIDER_WORDS,
    SHAPES,
    TOKENS,
    UPSTREAM_COVERED,
)

R = Redactor()
IDS = Path(__file__).parent / "fixtures" / "gitleaks_rule_ids.txt"


def _cited() -> set[str]:
    out: set[str] = set()
    for rule in TOKENS + SHAPES:
        out.add(rule.id)
        for part in rule.source.split(";"):
            part = part.strip()
            if part.startswith("gitleaks:"):
                out |= {x.strip().split(" ")[0] for x in part[len("gitleaks:"):].split(",")}
    for ids in [*PROVIDER_WORDS.values(), *ASSIGNED_PROVIDER_WORDS.values()]:
        out |= set(ids.split(","))
    return out | set(UPSTREAM_COVERED)


def test_every_gitleaks_rule_is_cited_by_a_csa_rule():
    upstream = [ln for ln in IDS.read_text().splitlines() if ln and not ln.startswith("#")]
    assert len(upstream) > 200
    missing = sorted(set(upstream) - _cited())
    assert not missing, missing


# gitleaks cmd/generate/config/utils/generate.go GenerateSampleSecrets: the settings its
# keyword rules are tested in ({i} the provider, {s} the secret).
SAMPLES = [
    '{i}Token="{s}"', "{i}Token = {s}", '{\n    "{i}_token": "{s}"\n}',
    '\\{\n    \\"{i}_token\\": \\"{s}\\"\n\\}', "<{i}Token>{s}</{i}Token>", "<{i}Token>\n    {s}\n</{i}Token>",
    "{i}_token: {s}", "{i}_token: '{s}'", "{i}_token: |\n  {s}", "{i}_token: >\n  {s}",
    'string {i}Token = "{s}";', 'var {i}Token string = "{s}"', '{i}Token := "{s}"', "{i}Token := `{s}`",
    'var {i}Token: String = "{s}"', '${i}Token .= "{s}"', '${i}Token ??= "{s}"', "{i}Token = '{s}'",
    "{i}Token,{s},", '  "{i}Token" => "{s}"', '{i}_TOKEN ::= "{s}"', '{i}_TOKEN :::= "{s}"',
    '{i}_TOKEN ?= "{s}"', '{i}_TOKEN += "{s}"', 'set{i}Token("{s}")',
    # prose: the kinds with no prefix of their own
    "my {i} key is {s} for prod", "Use this {i} API key: {s}", "the {i} token ({s}) expired",
    "{i} password {s}", "Here is the {i} secret:\n{s}\n",
]
PROVIDERS = ["datadog", "heroku", "adafruit", "cloudflare", "twitter", "algolia", "sumo", "zendesk"]


def _secret(rng: random.Random, shape: str) -> str:
    if shape == "uuid":
        h = "".join(rng.choice("0123456789abcdef") for _ in range(32))
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
    alphabet, n = {"hex": ("0123456789abcdef", 32), "lower": (string.ascii_lowercase + string.digits, 40),
                   "mixed": (string.ascii_letters + string.digits, 20)}[shape]
    while True:
        s = "".join(rng.choice(alphabet) for _ in range(n))
        if sum(c.isdigit() for c in s) >= 3 and sum(c.isalpha() for c in s) >= 3:
            return s


@pytest.mark.parametrize("provider", PROVIDERS)
def test_keyword_rule_settings_never_leak(provider):
    rng = random.Random(provider)
    leaks = []
    for template in SAMPLES:
        for shape in ("hex", "lower", "mixed", "uuid"):
            s = _secret(rng, shape)
            text = template.replace("{i}", provider).replace("{s}", s)
            if s in R.text(text):
                leaks.append(text)
    assert not leaks, leaks


def test_a_provider_name_alone_marks_the_value():
    # (names the byte gate can anchor: a letter of j x v k y h g p before their last one;
    # the others, "twitter", "datadog", are found with a secret word: "twitter_token")
    s = "9g0w23rq2s7jui7c05o3rbu9h5irrg1e"
    for text in (f"heroku = {s}", f"hubspot: {s}", f"travis={s}", f'"kraken": "{s}"', f"jfrog {s}"):
        assert s not in R.text(text), text
    assert s in R.text(f"the build id is {s}")  # no word: an id like any other


@pytest.mark.parametrize("tok", [
    "3f9a1c0b7e5d42a8b6c1f0e9d8a7b6c5", "9b2c4e6a-1f3d-4b5c-8a7e-0d1c2b3a4f5e", "Xk29fjQ0aLm3Zp8Rt", "u2gljptjys6mi9mdg0p8",
])
def test_generated_tokens_look_random(tok):
    assert looks_random(tok)


@pytest.mark.parametrize("tok", [
    "get_access_token_for_user", "python3.11-dev-x86_64", "base64.b64encode", "HTTPBasicAuthHandler",
    "1.3.6.1.5.5.7.3.1", "2026-12-03T04:00:05", "site-packages/urllib3", "aaaaaaaaaaaaaaaa1", "utf8mb4_unicode_ci",
    "cache_read_input_tokens", "/usr/lib/python3.11/ssl.py",
])
def test_names_paths_and_versions_do_not(tok):
    assert not looks_random(tok)


def test_only_a_close_value_of_the_same_field_counts():
    uuid = "6e18d744-aa3e-4066-8a51-0c2b4d6e8f10"
    # a JSON field after the one holding the word is another value
    line = '{"text":"        pass","stop_reason":"end_turn","session_id":"' + uuid + '"}'
    assert near_spans(line) == []
    assert R.text(line) == line
    far = "the key to this design is explained in the appendix, see " + "ab12cd34ef56gh78ij90"
    assert near_spans(far) == []


def test_near_words_inside_our_own_tags_do_not_count():
    once = R.text("password00001123456AB/:4567AB00001123")
    assert R.text(once) == once


@pytest.mark.parametrize("op", ["?=", "+=", "::=", ":::=", ".=", "??="])
def test_make_and_php_assignment_operators(op):
    # a password that does not look random: only the secret-named name gives it away
    for name in ("DB_PASSWORD", "$dbPassword", "api_token"):
        assert "hunter2!x" not in R.text(f'{name} {op} "hunter2!x"'), (name, op)
    assert R.text(f"password {op} char") == f"password {op} char"  # code


# A provider's name assigned a token with no secret word in sight: names the gate has no
# anchor letter for (twilio, datadog, sentry...) and providers added from gitleaks' list.
BARE_PROVIDERS = ["twilio", "datadog", "stripe", "sendgrid", "okta", "rollbar", "circleci", "zendesk",
                  "sentry", "twitter", "mailchimp", "pagerduty"]
BARE_FORMS = ["{p} = {s}", "{P}={s}", "{p}: {s}", '{p}: "{s}"', 'export {P}_SID="{s}"', "{p} => '{s}'",
              '"{p}": "{s}"', "{P}_API={s}", "  {p}:\t{s}  # prod", '{{\\"{p}\\":\\"{s}\\"}}']


@pytest.mark.parametrize("provider", BARE_PROVIDERS)
def test_a_bare_provider_assignment_is_caught(provider):
    rng = random.Random("bare" + provider)
    leaks = []
    for form in BARE_FORMS:
        for shape in ("hex", "lower", "mixed", "uuid"):
            s = _secret(rng, shape)
            text = form.format(p=provider, P=provider.upper(), s=s)
            if s in R.text(text):
                leaks.append(text)
    assert not leaks, leaks


def test_a_bare_provider_assignment_never_reaches_the_transcript(tmp_path):
    from csa.transcript import TranscriptWriter

    s = _secret(random.Random(5), "hex")
    lines = [f"twilio: {s}", f"DATADOG={s}", f'{{"type":"result","config":{{"rollbar": "{s}"}}}}',
             f'{{"type":"assistant","text":"cfg {{\\"sentry\\":\\"{s}\\"}}"}}',
             f'{{"type":"tool_result","content":"stripe = {s}"}}']
    path = tmp_path / "t.jsonl"
    with TranscriptWriter(path, redactor=Redactor()) as tw:
        for line in lines:
            tw.append_stdout_line(line)
    data = path.read_text()
    assert s not in data and data.count("[REDACTED:") == len(lines)


def test_a_provider_key_in_parsed_json_is_redacted():
    s = _secret(random.Random(6), "mixed")
    red = R.obj({"twilio": s, "cfg": {"datadog_api": s}, "id": s, "n": 3})
    assert red["twilio"] == red["cfg"]["datadog_api"] == "[REDACTED:secret-value]"
    assert red["id"] == s and red["n"] == 3  # no provider in the name: an id like any other


@pytest.mark.parametrize("text", [
    "https://sentry.io/organizations/acme/issues/4f9a1c0b7e5d42a8b6c1f0e9d8a7b6c5/",
    "open https://app.datadoghq.com/apm/trace/7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e?env=prod",
    "commit = 4f9a1c0b7e5d42a8b6c1f0e9d8a7b6c5aa12bb34",  # no provider, no secret word
    "segment 3 of 7 = done", "stripe = 'solid red'",
])
def test_a_provider_name_in_a_url_or_without_a_token_is_left_alone(text):
    assert R.text(text) == text
