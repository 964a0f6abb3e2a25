"""`csa session result | logs | artifacts | is-alive`: read a session's outcome and history."""

from __future__ import annotations

import sys

import click

from csa.cli.output import (
    emit_json,
    emit_jsonl,
    human_bytes,
    json_option,
    key_values,
    no_color_option,
    table,
    write_text,
)
from csa.cli.session import cd_option, open_session, session_option


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
    from csa.result import last_outcome

    res = last_outcome(open_session(cd, session, env_fallback=True))
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
    if res.get("tokens"):
        from csa.cost import money, turn_cost

        pairs.append(("model", res.get("model") or "-"))
        pairs.append(("cost", money(turn_cost(res.get("tool") or "", res.get("model"),
                                              res["tokens"]))))
    if res.get("cost_usd") is not None:
        pairs.append(("tool's cost", f"${res['cost_usd']:.6f}"))
    if res.get("errors"):
        pairs.append(("errors", "; ".join(res["errors"])))
    if res.get("failure"):
        pairs.append(("failure", res["failure"]))
    if res.get("tool_reason"):
        pairs.append(("why this tool", res["tool_reason"]))
    for sw in res.get("failover") or []:
        pairs.append(("failed over", f"{sw.get('from')} ({sw.get('kind')}) -> {sw.get('to')}: "
                                      f"{sw.get('reason')}"))
    if res.get("current_run"):
        pairs.append(("current run", res["current_run"]))
    write_text(key_values(pairs) + "\n" + (res.get("final_text") or "") + "\n")


@click.command("logs")
@session_option(env_fallback=True)
@click.option("--tail", type=int, metavar="N", help="Only the last N events.")
@click.option("-f", "--follow", is_flag=True,
              help="Keep printing new events until the session's run ends (or Ctrl-C).")
@json_option
@no_color_option
@cd_option
def logs(session, tail, follow, as_json, cd):
    """Show the session's transcript (--json: the raw JSONL lines).

    \b
    Examples:
      csa session logs -s 01JH4Q
      csa session logs -s 01JH4Q --tail 200
      csa session logs -s 01JH4Q --follow
      csa session logs -s 01JH4Q --json | jq 'select(.type=="turn_end")'
      PAGER=cat csa session logs -s 01JH4Q --no-color

    On a terminal the log goes through $PAGER (else `less -FRX`), in colour unless
    NO_COLOR is set or --no-color is given.
    """
    handle = open_session(cd, session, env_fallback=True)
    errors: list = []
    reader = handle.transcript_reader(errors=errors)
    try:
        evs = list(reader)
    except FileNotFoundError:
        evs = []
    if tail is not None:
        evs = evs[-tail:] if tail > 0 else []
    _print_events(evs, as_json, paged=not follow)  # a pager would hold --follow back
    if errors:
        click.echo(f"csa: {len(errors)} corrupt line(s) in {handle.transcript_path}", err=True)
    if not follow:
        return
    try:
        for batch in handle.follow_transcript(after=evs[-1] if evs else None,
                                              offset=reader.offset, line_no=reader.line_no):
            _print_events(batch, as_json)
    except KeyboardInterrupt:
        return


def _print_events(evs, as_json: bool, paged: bool = False) -> None:
    if as_json:
        emit_jsonl(evs)
        return
    from csa import colour
    from csa.catalogue import render

    lines = [line for line in map(render, evs) if line is not None]
    if colour.enabled():
        lines = [colour.log_line(line) for line in lines]
    if lines and paged:
        colour.page("\n".join(lines) + "\n")
    elif lines:
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
    handle = open_session(cd, session, env_fallback=True)
    files = handle.artifacts()
    if as_json:
        emit_json(files)
        return
    if not files:
        click.echo(f"No artifacts in {handle.output_dir}", err=True)
        return
    write_text(table(["SIZE", "PATH"], [[human_bytes(f["size"]), f["path"]] for f in files]))


@click.command("is-alive")
@session_option()
@json_option
@cd_option
def is_alive(session, as_json, cd):
    """Say whether the session's turn is working, stalled or not alive; exit 0 while alive.

    `alive (working: last output 3s ago)`, `alive (stalled: no output for 6m02s)` (no
    output for `stall_after` seconds, config, default 300) or `not alive` (exit 1).

    \b
    Examples:
      csa session is-alive -s 01JH4Q && echo busy
      csa session is-alive -s 01JH4Q --json | jq -r .state
    """
    from csa.config import load_config
    from csa.liveness import probe, stall_after

    handle = open_session(cd, session)
    holder = handle.holder()
    if holder is None:
        handle.reconcile()  # a turn whose csa died: what is left of it is stopped
    live = probe(handle, stall_after(load_config(handle.store.root)), holder=holder)
    if as_json:
        emit_json({"session_id": handle.id, **live.to_json(), "holder": holder})
    else:
        click.echo(live.describe())
    sys.exit(0 if live.alive else 1)
