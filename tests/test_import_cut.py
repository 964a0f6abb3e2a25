"""Issue 13: an imported event is redacted first, then cut to its limit."""

from __future__ import annotations

from csa.importers.base import MAX_TOOL_TEXT, Parsed, cut_text, final_event
from csa.redact import Redactor

R = Redactor()


def _straddling(secret_at: int) -> tuple[str, str]:
    """A tool result whose SQL password straddles the cut at secret_at."""
    password = "Tr0ub4dor and 3xtra words"
    head = "x " * ((secret_at - 40) // 2)
    text = head + f"CREATE USER bob IDENTIFIED BY '{password}';\n" + "y" * 30_000
    return text, password


def test_a_secret_across_the_importer_cut_is_gone_whole():
    text, password = _straddling(MAX_TOOL_TEXT)
    i = text.index(password)
    assert i < MAX_TOOL_TEXT < i + len(password)  # the cut falls inside the password
    ev = Parsed().add("tool_result", text, source="test")
    out = final_event(ev, R)
    assert "_limit" not in out
    assert out["text"].endswith("chars]") and len(out["text"]) < MAX_TOOL_TEXT + 40
    for word in password.split():
        assert word not in out["text"], word


def test_cut_after_redaction_keeps_the_rest_verbatim():
    assert cut_text("short", 10, R) == "short"
    assert cut_text("abc def", 4, R) == "abc … [cut 3 chars]"
    assert cut_text("token ghp_" + "a1B2" * 9 + " tail", 30, R) == "token [REDACTED:github] tail"
    red = cut_text("token ghp_" + "a1B2" * 9 + " tail", 12, R)
    assert "a1B2" not in red and "ghp_" not in red and red.startswith("token ")


def test_one_line_summaries_are_redacted_before_the_lines_are_folded():
    """A rule that needs the text's lines (.pgpass, a key block) still sees them."""
    text = "$ cat ~/.pgpass\ndb.internal:5432:app:deploy:Zx9!qLw2vT\nthat was it"
    assert "Zx9!qLw2vT" in R.text(" ".join(text.split()))  # folded first: the line rule misses it
    assert "Zx9!qLw2vT" not in R.line(text, 200)
    assert R.line(text, 200).endswith("that was it")
