"""`csa session search` and `csa session reindex`."""

from __future__ import annotations

import click

from csa.cli.output import emit_json, json_option, table, write_text
from csa.cli.session import cd_option, open_store


@click.command("search")
@click.argument("query")
@click.option("--tool", help="Only events from this tool.")
@click.option("--type", "types", metavar="a,b",
              help="Only these event types: prompt, event, stdout, stderr, turn_end, "
                   "description, imported.")
@click.option("--since", metavar="WHEN", help="Only events since a duration ago (2d) or a date.")
@click.option("--until", metavar="WHEN", help="Only events until a duration ago or a date.")
@click.option("--all-projects", is_flag=True, help="Search every project's sessions.")
@click.option("--limit", type=int, default=20, show_default=True, help="At most N hits.")
@json_option
@cd_option
def search(query, tool, types, since, until, all_projects, limit, as_json, cd):
    """Full-text search across session transcripts, best matches first.

    QUERY is SQLite FTS5 syntax (words, "a phrase", prefix*, a OR b, NOT c); text
    that is not valid FTS5 is searched as plain words.

    \b
    Examples:
      csa session search "flaky test"
      csa session search 'migrat* AND postgres' --tool codex --since 7d
      csa session search timeout --all-projects --json
    """
    from csa.search import search as do_search
    from csa.state import iso_ms
    from csa.timeutil import parse_since

    store = open_store(cd)
    hits = do_search(store, query, all_projects=all_projects, tool=tool,
                     types=types.split(",") if types else None,
                     since=iso_ms(parse_since(since)) if since else None,
                     until=iso_ms(parse_since(until)) if until else None, limit=min(max(limit, 0), 2**62))
    if as_json:
        emit_json(hits)
        return
    if not hits:
        click.echo(f"No matches for {query!r}", err=True)
        return
    from csa.listing import short_ids

    short = short_ids(h["session_id"] for h in hits)
    rows = [[short[h["session_id"]], h["ts"] or "-", h["tool"] or "-", h["type"],
             " ".join(h["snippet"].split())] for h in hits]
    headers = ["SESSION", "TIME", "TOOL", "TYPE", "MATCH"]
    if all_projects:
        for r, h in zip(rows, hits, strict=True):
            r.insert(1, h["project"])
        headers.insert(1, "PROJECT")
    write_text(table(headers, rows))


@click.command("reindex")
@json_option
def reindex(as_json):
    """Rebuild the search index from the plaintext transcripts of every project.

    \b
    Examples:
      csa session reindex
    """
    from csa.paths import state_base
    from csa.search import reindex as do_reindex

    res = do_reindex(state_base())
    if as_json:
        emit_json(res)
    else:
        click.echo(f"Indexed {res['events']} events of {res['sessions']} sessions into "
                   f"{res['path']}", err=True)
