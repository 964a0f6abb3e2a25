"""Fake claude's `-p "/compact" --resume ID`: the slash command really runs in print mode.

    claude -p /compact --resume ID --output-format stream-json --verbose
    {"type":"system","subtype":"init",…}
    {"type":"system","subtype":"status","status":"compacting",…}
    {"type":"system","subtype":"compact_boundary",…,"compact_metadata":{"trigger":"manual",…}}
    {"type":"system","subtype":"status","status":null,"compact_result":"success",…}
    {"type":"result","subtype":"success","is_error":false,"result":"",…}

The stored conversation collapses to one summary user turn.  With fewer than 2 user turns
it fails ("Not enough messages to compact.", exit 1) and nothing changes.

FAKE_CLAUDE_AUTO_COMPACT=N: before an ordinary prompt, a conversation of N user turns or more
is compacted automatically (`auto_compact`: a `compact_boundary` with trigger "auto", as
claude prints when its context fills up), then the prompt is answered as usual.
"""

from . import store, switches
from .claude import assistant_event, init_event, print_result, result_event, transcript_line
from .ids import now_ms, rand_hex, uuid4
from .jsonio import append_lines, out_line
from .turn import OUTPUT_TOKENS

NOT_ENOUGH = "Not enough messages to compact."


def compact(run):
    """Play /compact on run.rec; returns the exit status."""
    run.t0 = now_ms()
    switches.before_output(run, compact=True)
    if run.stream:
        out_line(init_event(run))
    switches.pause()
    if run.stream:
        out_line(status_event(run, "compacting"))
    code = switches.exit_code()
    if len(run.rec["turns"]) < 2:
        refuse(run)
        return code or 1
    summarize(run)
    return code


def status_event(run, status, **result):
    ev = {"type": "system", "subtype": "status", "status": status}
    ev.update(result)
    ev["session_id"] = run.rec["id"]
    ev["uuid"] = uuid4()
    return ev


def refuse(run):
    """Too little to compact: say so; a resumed session is saved unchanged."""
    if run.stream:
        out_line(status_event(run, None, compact_result="failed", compact_error=NOT_ENOUGH))
        out_line(assistant_event(run, f"msg_fake_{rand_hex(12)}", NOT_ENOUGH, 0))
    duration = max(1, now_ms() - run.t0)
    res = result_event(
        run.rec["id"], run.model, NOT_ENOUGH, 0, 0, duration, is_error=True, num_turns=0
    )
    print_result(run, res, NOT_ENOUGH)
    if not run.is_new:  # nothing to keep for a brand-new session
        store.save(run.rec)


def auto_compact(run):
    """Compact before answering when the conversation is long enough (see the docstring)."""
    limit = switches.text("FAKE_CLAUDE_AUTO_COMPACT")
    if not limit.isdigit() or len(run.rec["turns"]) < max(1, int(limit)):
        return
    run.t0 = now_ms()
    collapse(run, "auto")


def summarize(run):
    """Collapse the conversation to one summary turn; boundary + summary in the transcript."""
    rec, sid = run.rec, run.rec["id"]
    pre_tokens = collapse(run, "manual")
    if run.stream:
        out_line(status_event(run, None, compact_result="success"))
    # the summary is one model call: its tokens show in usage/modelUsage/total_cost_usd
    res = result_event(sid, run.model, "", pre_tokens, 10, max(1, now_ms() - run.t0), num_turns=0)
    print_result(run, res, "")
    store.save(rec)


def collapse(run, trigger):
    """The conversation becomes one summary turn; the boundary is printed (stream-json)
    and written to the tool's own transcript with the summary."""
    rec, sid = run.rec, run.rec["id"]
    n = len(rec["turns"])
    pre_tokens = 10 * n + OUTPUT_TOKENS * len(rec["replies"])
    summary = f"[compacted summary of {n} user turns] " + " | ".join(t[:40] for t in rec["turns"])
    rec["turns"] = [summary]
    rec["replies"] = []
    rec["compactions"] = rec.get("compactions", 0) + 1
    if run.stream:
        metadata = {
            "trigger": trigger,
            "pre_tokens": pre_tokens,
            "post_tokens": 10,
            "duration_ms": max(1, now_ms() - run.t0),
        }
        out_line(
            {
                "type": "system",
                "subtype": "compact_boundary",
                "session_id": sid,
                "uuid": uuid4(),
                "compact_metadata": metadata,
            }
        )
    boundary = transcript_line(run, "system")
    boundary.update(
        {
            "subtype": "compact_boundary",
            "content": "Conversation compacted",
            "level": "info",
            "compactMetadata": {"trigger": trigger, "preTokens": pre_tokens},
        }
    )
    summary_line = transcript_line(run, "user")
    summary_line.update({"isCompactSummary": True, "message": {"role": "user", "content": summary}})
    append_lines(rec["transcript"], [boundary, summary_line])
    return pre_tokens
