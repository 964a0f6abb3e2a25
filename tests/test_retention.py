"""Retention (seed 004) through `csa gc` and the `[retention]` config: the raw_max_age_days
backstop, the hard-cap overflow path with its data_loss event, and an unreachable budget
reported as a failure."""

from __future__ import annotations

import json

from csa.store import Store
from helpers import invoke, make_session


def session_with_transcript(store: Store, age_days: float, *, digested: bool, kb: int = 20):
    st = make_session(store, f"s{age_days}", age_days=age_days)
    session = store.session(st.meta_session_id)
    with session.transcript_writer() as w:
        w.write({"type": "prompt", "tool": "codex", "purpose": "run", "text": "p" * 50})
        for _ in range(kb):
            w.write({"type": "stderr", "text": "x" * 1000})
        w.write({"type": "turn_end", "tool": "codex", "exit_code": 0, "status": "finished"})
    st = session.read_state()
    if digested:
        from csa.digest import digest_events

        st.extra["digest"] = digest_events(session.read_transcript())
    session.save(st)
    return session


def configure(project, **keys) -> None:
    lines = "\n".join(f"{k} = {v}" for k, v in keys.items())
    (project / ".csa").mkdir(exist_ok=True)
    (project / ".csa" / "config.toml").write_text(f"[retention]\n{lines}\n")


def evicted(session) -> bool:
    return "evicted" in session.read_state().extra


def events_of(project, kind):
    out = invoke("events", "--json").stdout
    rows = json.loads(out) if out.strip().startswith("[") else \
        [json.loads(x) for x in out.splitlines() if x.strip()]
    return [e for e in rows if e.get("type") == kind or e.get("event") == kind]


def test_soft_cap_from_config_never_drops_an_undigested_session(project):
    store = Store.open(str(project))
    old_raw = session_with_transcript(store, 9, digested=False)
    old = session_with_transcript(store, 8, digested=True)
    new = session_with_transcript(store, 1, digested=True)
    configure(project, max_bytes=1024)
    res = invoke("gc", "--json")
    assert res.exit_code == 1 and "NOT met" in res.stderr  # the undigested one stays
    assert "csa session clean" in res.stderr and len(res.stderr.strip().splitlines()) == 1
    budget = json.loads(res.stdout)["budget"]
    assert {e["id"] for e in budget["evicted"]} == {old.id, new.id}
    assert budget["data_loss"] == [] and budget["skipped_undigested"] == 1
    assert not evicted(old_raw) and old_raw.transcript_size() > 20000
    assert events_of(project, "data_loss") == []


def test_hard_cap_analyzes_now_before_evicting(project):
    store = Store.open(str(project))
    raw = session_with_transcript(store, 9, digested=False)
    configure(project, max_bytes=1024, hard_cap_bytes=4096)
    res = invoke("gc", "--json")
    budget = json.loads(res.stdout)["budget"]
    assert [e["id"] for e in budget["evicted"]] == [raw.id] and budget["analyzed"] == [raw.id]
    assert budget["data_loss"] == [] and budget["skipped_undigested"] == 0
    assert raw.read_state().extra["digest"]["turns"] == 1  # analyzed, then evicted
    assert events_of(project, "data_loss") == []


def test_overflow_last_resort_evicts_oldest_undigested_with_a_data_loss_event(project):
    store = Store.open(str(project))
    oldest = session_with_transcript(store, 9, digested=False)
    newer = session_with_transcript(store, 2, digested=False)
    # No time to analyze: the overflow path must evict un-analyzed transcripts, oldest first.
    configure(project, max_bytes=1024, hard_cap_bytes=30000, analyze_max_s=0)
    res = invoke("gc", "--json")
    budget = json.loads(res.stdout)["budget"]
    assert [e["id"] for e in budget["data_loss"]] == [oldest.id]
    assert budget["evicted"] == [] and not evicted(newer)
    assert oldest.read_state().extra["evicted"]["data_loss"] is True
    loss = events_of(project, "data_loss")
    assert [e["session_id"] for e in loss] == [oldest.id]
    text = invoke("gc", "--dry-run").stdout
    assert oldest.id not in text  # already evicted: nothing more to report


def test_raw_max_age_days_backstop_digests_first(project):
    store = Store.open(str(project))
    stale = session_with_transcript(store, 40, digested=False)
    fresh = session_with_transcript(store, 1, digested=False)
    configure(project, raw_max_age_days=30)
    res = invoke("gc", "--json")
    assert res.exit_code == 0, res.stderr
    budget = json.loads(res.stdout)["budget"]
    assert [e["id"] for e in budget["evicted"]] == [stale.id]
    assert budget["evicted"][0]["reason"] == "raw_max_age_days"
    assert "digest" in stale.read_state().extra and evicted(stale)
    assert not evicted(fresh) and "digest" not in fresh.read_state().extra


def test_reachable_budget_exits_zero_and_says_met(project):
    store = Store.open(str(project))
    session_with_transcript(store, 3, digested=True)
    res = invoke("gc", "--max-bytes", "1G")
    assert res.exit_code == 0 and "(met)" in res.stderr
