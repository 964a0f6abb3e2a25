"""`csa session search` and `csa session reindex`."""

from __future__ import annotations

import click

from csa.cli.output import emit_json, json_option, table, write_text
from csa.cli.session import cd_option, open_store


@click.command("search")
@click.argument("query")
@click.option("--type", "kinds", metavar="a,b",
              help="Only sessions of these types: chat (started by a person), agent "
                   "(started by another session), workflow (csa batch), imported.")
@click.option("--event-type", "event_types", metavar="a,b",
              help="Only matches in these transcript events: prompt, event, stdout, "
                   "stderr, turn_end, imported, description, digest...")
@click.option("--tool", help="Only matches from this tool.")
@click.option("--since", metavar="WHEN",
              help="Only what happened since a duration ago (2d) or a date; imported "
                   "sessions by their own timestamps.")
@click.option("--until", metavar="WHEN",
              help="Only what happened until a duration ago or a date (a date includes "
                   "that day).")
@click.option("--all-projects", is_flag=True, help="Search every project's sessions.")
@click.option("--limit", type=int, default=20, show_default=True, help="At most N sessions.")
@json_option
@cd_option
def search(query, kinds, event_types, tool, since, until, all_projects, limit, as_json, cd):
    """Full-text search across sessions: one row per matching session, best match first.

    QUERY is SQLite FTS5 syntax (words, "a phrase", prefix*, a OR b, NOT c); text
    that is not valid FTS5 is searched as plain words. A session whose transcript
    was evicted is still found by its digest; a fork or a compacted session shows
    the conversation it continues (CONTINUES).

    \b
    Examples:
      csa session search "flaky test"
      csa session search 'migrat* AND postgres' --tool codex --since 7d
      csa session search deadlock --type imported --since 2024-01-01 --until 2024-01-15
      csa session search timeout --type chat,agent --all-projects --json
    """
    from csa.search import search as do_search
    from csa.search_meta import parse_kinds, time_bounds

    store = open_store(cd)
    lo, hi = time_bounds(since, until)
    hits = do_search(store, query, all_projects=all_projects, tool=tool,
                     kinds=parse_kinds(kinds),
                     event_types=event_types.split(",") if event_types else None,
                     since=lo, until=hi, limit=min(max(limit, 0), 2**62))
    if as_json:
        emit_json(hits)
        return
    if not hits:
        click.echo(f"No matches for {query!r}", err=True)
        return
    from csa.search_meta import hit_rows

    headers, rows = hit_rows(hits, all_projects=all_projects)
    write_text(table(headers, rows))


@click.command("reindex")
@json_option
def reindex(as_json):
    """Rebuild the search index from the transcripts (and the digests of evicted
    sessions) of every project.

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
