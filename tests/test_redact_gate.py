"""The byte gate finds everything the rules find: it decides which text the rules see at
all, so a rule whose secret the gate misses never runs on the transcript's hot path.

Checked per rule, with strings generated from the rule's own pattern (ASCII, as real
tokens are) in prose, code, JSON and after an escaped newline, and per keyword with a
random token body after it. Every test runs twice: with the gate's regexes over the whole
input, and through its Hyperscan prefilter (csa.redact_prefilter) on every input.
"""

from __future__ import annotations

import random
import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable

from csa import redact_gate
from csa.redact import DEFAULT_RULES, Redactor
from csa.redact_gate import EXTRA_KEYWORDS, RAW_KEYWORDS
from csa.redact_names import is_secret_name
from csa.secret_rules import SECRET_WORDS, TOKENS

R = Redactor()
CONTEXTS = ("I used {} yesterday.", 'client = Client(key="{}")', '{{"type":"text","text":"{}"}}',
            '{{"text":"done\\n{}\\tok"}}', "$ deploy --with {}")
TOKEN_CHARS = st.characters(codec="ascii", min_codepoint=33, max_codepoint=126,
                            exclude_characters='"\\`')
# Config lines, command lines, key blocks: any printable ASCII and newlines, alone or
# between lines of other output.
SHAPE_CHARS = st.characters(codec="ascii", min_codepoint=32, max_codepoint=126) | st.sampled_from("\n\t\r")
SHAPE_CONTEXTS = ("{}", "I ran:\n{}\nok")


@pytest.fixture(scope="module", autouse=True, params=["regexes", "prefilter"])
def gate_mode(request):
    mp = pytest.MonkeyPatch()
    mp.setattr(redact_gate, "PREFILTER_MIN", 0 if request.param == "prefilter" else 1 << 62)
    yield request.param
    mp.undo()


def _gate(text: str) -> bool:
    return R.may_hold(text)


# Rules whose look-behinds hypothesis cannot satisfy when it generates from the pattern;
# tests/secret_corpus.py has a realistic example of each, which the corpus tests put
# through the gate (test_redact.py::test_gate_flags_every_corpus_secret_in_a_batch).
NOT_GENERATED = {"slack-webhook-url", "discord-webhook", "telegram-bot-token",
                 "microsoft-teams-webhook", "azure-sas-signature", "url-secret-param", "okta-api-token"}


def test_rules_not_generated_exist():
    assert NOT_GENERATED <= {rule.id for rule in DEFAULT_RULES}


@pytest.mark.parametrize("rule", [r for r in DEFAULT_RULES if r.id not in NOT_GENERATED], ids=lambda r: r.id)
def test_the_gate_flags_whatever_a_rule_finds(rule):
    token = rule in TOKENS and " " not in rule.pattern and "\\\\" not in rule.pattern

    @settings(max_examples=6, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(st.from_regex(rule.pattern, fullmatch=True, alphabet=TOKEN_CHARS if token else SHAPE_CHARS),
           st.sampled_from(CONTEXTS if token else SHAPE_CONTEXTS))
    def check(found, context):
        text = context.format(found)
        if R.spans(text):
            assert _gate(text), f"{rule.id}: the rules redact {text!r}, the gate lets it through"

    try:
        check()
    except Unsatisfiable:
        pytest.fail(f"{rule.id}: no example can be generated; add it to NOT_GENERATED and the corpus")


def _keywords() -> list[tuple[str, int]]:
    comp, _ = R._compiled()
    commands = {k for rule in DEFAULT_RULES if rule.id.startswith("cmdline-") for k in rule.keywords}
    return sorted({(k, n) for k, n in comp.keywords if k and k not in RAW_KEYWORDS | EXTRA_KEYWORDS | commands})


@pytest.mark.parametrize("keyword", _keywords(), ids=lambda k: k[0])
def test_every_rule_keyword_has_a_way_through_the_gate(keyword):
    """A keyword followed by a random token body, at a word start, in prose and after an
    escaped newline inside JSON: the gate flags it (keywords with no anchor letter,
    such as r8_, ntn_, ico-, sat., 1//, once had none)."""
    word, body = keyword
    rng = random.Random(word)
    token = word + "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(max(body, 40)))
    for context in ("I used {} yesterday.", '{{"text":"ok\\n{}"}}', "{}"):
        assert _gate(context.format(token)), (word, context)


@pytest.mark.parametrize("word", sorted(SECRET_WORDS))
def test_every_secret_name_passes_the_gate_in_json_env_and_prefixed(word):
    """The object path redacts any secret-named key; a tool's compact JSON line is gated as
    it came, so the gate must see every secret word as an assigned name (dsn, sessid and
    contrasena have no anchor letter)."""
    for form in ('{{"{}":"x1Y2z3W4q"}}', "{}=x1Y2z3W4q", '{{"DB_{}":"x1Y2z3W4q"}}'):
        text = form.format(word)
        name = text.split('"')[1] if text.startswith("{") else word
        if is_secret_name(name):
            assert _gate(text), text


@pytest.mark.parametrize("text", ['x\\":\\u0041bcdefghijklmnop1 y', 'x\\":\\"\\u0070bcdefghijklmnop1 y',
                                  '{"a":"\\\\\\":\\u0073k-proj-abcdefghijklmnop1"}'])
def test_a_compact_json_operator_hides_no_escape_after_it(text):
    """The \\u00XX escape pass and the compact-JSON operator pass (\\":<token>) are one
    scan: the operator's branch is a look-ahead, so the backslash of an escape right after
    it is still seen (a branch that consumed it let the escape, which could spell any
    keyword, through)."""
    assert R.may_hold(text)
    assert not R.may_hold(text.replace("\\u00", "\\bb"))  # the escape is what flags it


@pytest.mark.parametrize("text", ["curl -u deploy:Hunter2hunter2 https://x", "$ redis-cli -a s3cr3tPassw0rd",
                                  "contrasena=hunter22", "client_secret = 'abcDEF123456ghiJKL7890'",
                                  "CREDENTIALS=abcDEF123456ghiJKL7890", "secret_" + "a1b2" * 10,
                                  "Authorization: Bearer abcDEF123456ghiJKL7890",
                                  "key " + "0123456789abcdef" * 2 + "-us21"])
def test_each_word_of_a_joined_pass_is_still_found(text):
    """The words that now share a scan (c: secret, cred, curl, redis-cli, contraseña;
    b: Bearer; -: Mailchimp's -us<n>) each still pass the gate, and the rules redact them."""
    assert R.may_hold(text)
    assert R.text(text) != text


@pytest.mark.parametrize("line", ['{"type":"item","text":"contrase\\u00f1a=Tr0ub4dor3"}',
                                  '{"type":"item","text":"CONTRASE\\u00D1A = Tr0ub4dor3"}',
                                  '{"contrase\\u00f1a": "Tr0ub4dor3"}',
                                  '{"type":"item","text":"contraseña = Tr0ub4dor&3"}',
                                  "CONTRASEÑA=Tr0ub4dor3", "db_contraseña: Tr0ub4dor3"])
def test_contrasena_with_its_enye_is_redacted_on_disk(tmp_path, line):
    """The one secret word spelled with a non-ASCII letter: its ñ as UTF-8 or as a JSON
    \\u00f1 escape (what json.dumps writes by default) passes the gate, and the name
    around it is read whole (the name run takes ñ, as the word splitter does)."""
    from csa.transcript import TranscriptWriter

    path = tmp_path / "t.jsonl"
    writer = TranscriptWriter(path, redactor=R)
    writer.append_stdout_line(line)
    writer.close()
    assert "Tr0ub4dor" not in path.read_text()


@pytest.mark.parametrize("name", ["sessionID", "sessionId", "sessionid", "SESSIONID", "SessionID",
                                  "x_sessionID", "sessionIDs", "sessionID_secret"])
@pytest.mark.parametrize("form", ['{{"{}":"ses_abcdef123456"}}', '{{\\"{}\\":\\"ses_abc\\"}}', "{}=abcdef123456"])
def test_name_hit_shortcut_for_benign_json_keys_agrees_with_the_whole_name(name, form):
    """name_hit knows opencode's "sessionID" key (on every event) without reading the name;
    for any name around it, it says what is_secret_name says of the whole name."""
    from csa.redact_gate import name_hit

    buf = form.format(name).encode()
    pos = buf.lower().index(b"sess")
    assert name_hit(buf, pos) == is_secret_name(name)


def _cookie_names() -> list[str]:
    """The keywords the "=" scan finds (no anchor letter; they end at "=")."""
    from csa.redact_gate import _keyword_alt

    return sorted(k for k, n in R._compiled()[0].keywords if (_keyword_alt(k, n) or "?")[0] == "=")


@pytest.mark.parametrize("name", _cookie_names())
def test_cookie_and_parameter_names_pass_the_gate_in_any_case(name):
    """The names ending at "=" (sessionid=, ?code=...) share the provider operator's scan
    of the original bytes, case-insensitively, as the lower-cased scan found them."""
    value = "Ab3dEf6hIj9kLm"
    for text in (f"Cookie: {name}{value}", f"Cookie: {name.upper()}{value}", f"x {name.title()}{value}"):
        assert R.may_hold(text), text
