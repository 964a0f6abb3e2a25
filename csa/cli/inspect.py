"""`csa session result | logs | artifacts | is-alive`: read a session's outcome and history."""

from __future__ import annotations

import os
import sys
import time

import click

from csa.cli.output import (
    emit_json,
    emit_jsonl,
    human_bytes,
    json_option,
    key_values,
    table,
    write_text,
)
from csa.cli.session import cd_option, open_store, resolve, session_option


@click.command("result")
@session_option(env_fallback=True)
@json_option
@cd_option
def result(session, as_json, cd):
    """Show the last turn's outcome (exit code, final text, provider id, duration, tokens).

    \b
    Examples:
      csa session result -s 01JH4Q
      csa session result -s 01JH4Q --json | jq -r .final_text
    """
    from csa.errors import CsaError
    from csa.result import read_result

    store = open_store(cd)
    sid = resolve(store, session, env_fallback=True)
    st = store.load(sid)
    res = read_result(store.session_dir(sid))
    if res is None and "import" in st.extra:
        res = _imported_result(store, sid, st)
    if res is None:
        status = st.run.status if st.run else "no turn yet"
        raise CsaError(f"Session {sid} has no finished turn yet ({status})")
    if st.run and st.run.status in ("running", "died"):
        res["current_run"] = st.run.status
    if as_json:
        emit_json(res)
        return
    tokens = res.get("tokens") or {}
    pairs = [("session", res.get("session_id")), ("tool", res.get("tool")),
             ("status", res.get("status")), ("exit code", res.get("exit_code")),
             ("provider id", res.get("provider_session_id")),
             ("duration", f"{res.get('duration_s', 0):.2f}s"),
             ("finished", res.get("finished_at")),
             ("tokens", ", ".join(f"{k}={v}" for k, v in tokens.items()) or "-")]
    if res.get("cost_usd") is not None:
        pairs.append(("cost", f"${res['cost_usd']:.6f}"))
    if res.get("errors"):
        pairs.append(("errors", "; ".join(res["errors"])))
    if res.get("current_run"):
        pairs.append(("current run", res["current_run"]))
    write_text(key_values(pairs) + "\n" + (res.get("final_text") or "") + "\n")


def _imported_result(store, sid: str, st) -> dict:
    """An imported session's outcome: its last assistant text and its digest."""
    from csa.transcript import read_events

    last = ""
    path = store.session_dir(sid) / "transcript.jsonl"
    if path.exists():
        for ev in read_events(path):
            if ev.get("type") == "imported" and ev.get("role") == "assistant" and ev.get("text"):
                last = ev["text"]
    digest = st.extra.get("digest")
    if not isinstance(digest, dict):
        digest = {}
    tool = st.last_tool()
    return {"session_id": sid, "tool": tool, "purpose": "import",
            "provider_session_id": st.tools[tool].provider_session_id if tool else None,
            "status": digest.get("outcome", "imported"), "exit_code": 0,
            "final_text": last, "tokens": digest.get("tokens") or {},
            "cost_usd": digest.get("cost_usd"), "imported": True}


def render_event(ev: dict) -> str | None:
    """One transcript event as a line for people (None to skip)."""
    kind = ev.get("type")
    ts = (ev.get("ts") or "")[11:19]
    if kind == "prompt":
        return f"{ts} ▶ prompt ({ev.get('tool')}{', resume' if ev.get('resume') else ''}): " \
               f"{_short(ev.get('text'))}"
    if kind == "turn_end":
        text = (ev.get("final_text") or "").strip()
        return (f"{ts} ■ turn end: {ev.get('status')} exit={ev.get('exit_code')} "
                f"{ev.get('duration_s')}s" + (f"\n{text}" if text else ""))
    if kind == "stderr":
        return f"{ts} ! {ev.get('text')}"
    if kind == "stdout":
        return f"{ts}   {ev.get('text')}"
    if kind == "event":
        e = ev.get("event") or {}
        text = _event_text(e)
        return f"{ts}   [{e.get('type', '?')}] {text}" if text else None
    if kind == "imported":
        name = f" {ev['name']}" if ev.get("name") else ""
        when = (ev.get("source_ts") or ev.get("ts") or "")[11:19]
        return f"{when} · {ev.get('role')}{name}: {_short(ev.get('text'))}"
    if kind == "compaction":
        return (f"{ts} ◆ compaction ({ev.get('method')}): {ev.get('message')}; provider id "
                f"{ev.get('old_provider_session_id')} -> {ev.get('new_provider_session_id')}")
    if kind == "corrupt":
        return f"?? corrupt line {ev.get('line')}: {ev.get('error')}"
    rest = {k: v for k, v in ev.items() if k not in ("v", "seq", "ts", "type")}
    return f"{ts} · {kind}: {_short(str(rest))}"


def _event_text(e: dict) -> str:
    if e.get("type") == "assistant":
        parts = (e.get("message") or {}).get("content") or []
        return " ".join(p.get("text", f"<{p.get('type')}>") for p in parts if isinstance(p, dict))
    if e.get("type") == "result":
        return _short(e.get("result"))
    if e.get("type") == "item.completed":
        item = e.get("item") or {}
        return f"{item.get('type')}: {_short(item.get('text') or item.get('command'))}"
    if e.get("type") == "message":
        return f"{e.get('role')}: {_short(e.get('content'))}"
    if e.get("type") == "text":
        return _short((e.get("part") or {}).get("text"))
    return ""


def _short(text, width: int = 200) -> str:
    text = " ".join(str(text or "").split())
    return text if len(text) <= width else text[: width - 1] + "…"


@click.command("logs")
@session_option(env_fallback=True)
@click.option("--tail", type=int, metavar="N", help="Only the last N events.")
@click.option("-f", "--follow", is_flag=True,
              help="Keep printing new events until the session's run ends (or Ctrl-C).")
@json_option
@cd_option
def logs(session, tail, follow, as_json, cd):
    """Show the session's transcript (--json: the raw JSONL lines).

    \b
    Examples:
      csa session logs -s 01JH4Q
      csa session logs -s 01JH4Q --tail 200
      csa session logs -s 01JH4Q --follow
      csa session logs -s 01JH4Q --json | jq 'select(.type=="turn_end")'
    """
    from csa.transcript import read_events

    store = open_store(cd)
    sid = resolve(store, session, env_fallback=True)
    path = store.session_dir(sid) / "transcript.jsonl"
    errors: list = []
    evs = list(read_events(path, errors=errors)) if path.exists() else []
    if tail is not None:
        evs = evs[-tail:] if tail > 0 else []
    _print_events(evs, as_json)
    if errors:
        click.echo(f"csa: {len(errors)} corrupt line(s) in {path}", err=True)
    if not follow:
        return
    last = _seq(evs[-1]) if evs else -1
    from csa.lock import is_alive

    try:
        while True:
            time.sleep(0.3)
            new = [e for e in read_events(path) if _seq(e) > last] if path.exists() else []
            if new:
                _print_events(new, as_json)
                last = _seq(new[-1])
            elif not is_alive(store.session_dir(sid)):
                # Like `kubectl logs -f`: following ends when the session's run ends.
                return
    except KeyboardInterrupt:
        return


def _seq(ev: dict) -> int:
    seq = ev.get("seq")
    return seq if type(seq) is int else -1


def _render_safely(ev: dict) -> str | None:
    """render_event, or a plain line for an event whose fields have unexpected types
    (a hand-edited or foreign transcript must not stop the rest from printing)."""
    try:
        return render_event(ev)
    except Exception:  # noqa: BLE001 - any odd shape of any field
        try:
            shown = _short(str(ev))
        except RecursionError:
            shown = "[too deeply nested]"
        return f"?? unreadable event (seq {_seq(ev)}): {shown}"


def _print_events(evs, as_json: bool) -> None:
    if as_json:
        emit_jsonl(evs)
        return
    lines = [line for line in map(_render_safely, evs) if line is not None]
    if lines:
        sys.stdout.write("\n".join(lines) + "\n")
        sys.stdout.flush()


@click.command("artifacts")
@session_option(env_fallback=True)
@json_option
@cd_option
def artifacts(session, as_json, cd):
    """List the files under the session's output/ with their sizes.

    \b
    Examples:
      csa session artifacts -s 01JH4Q
      csa session artifacts -s 01JH4Q --json
    """
    store = open_store(cd)
    sid = resolve(store, session, env_fallback=True)
    out = store.session_dir(sid) / "output"
    files = []
    for root, _dirs, names in os.walk(out):
        for name in sorted(names):
            p = os.path.join(root, name)
            try:
                st = os.lstat(p)
            except OSError:
                continue
            files.append({"path": os.path.relpath(p, out), "size": st.st_size,
                          "abs_path": p})
    files.sort(key=lambda f: f["path"])
    if as_json:
        emit_json(files)
        return
    if not files:
        click.echo(f"No artifacts in {out}", err=True)
        return
    write_text(table(["SIZE", "PATH"], [[human_bytes(f["size"]), f["path"]] for f in files]))


@click.command("is-alive")
@session_option()
@json_option
@cd_option
def is_alive(session, as_json, cd):
    """Print `alive` or `not alive`; exit 0 if a process holds the session's lock, else 1.

    \b
    Examples:
      csa session is-alive -s 01JH4Q && echo busy
    """
    from csa.lock import live_holder

    store = open_store(cd)
    sid = resolve(store, session)
    holder = live_holder(store.session_dir(sid))
    if as_json:
        emit_json({"session_id": sid, "alive": holder is not None, "holder": holder})
    else:
        click.echo("alive" if holder is not None else "not alive")
    sys.exit(0 if holder is not None else 1)
