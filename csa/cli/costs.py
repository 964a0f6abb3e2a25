"""`csa usage`: tokens and cost of the project's sessions, by tool, model or day."""

from __future__ import annotations

import click

from csa.cli.output import emit_json, json_option, table, write_text
from csa.cli.session import cd_option, open_store


@click.command("usage")
@click.option("--since", metavar="WHEN", help="Only sessions used within 2d, 36h... or since a date.")
@click.option("--by", "by", type=click.Choice(["tool", "model", "day"]), default="tool",
              show_default=True, help="Group by tool, model or day (the day a session was last used).")
@click.option("--all-projects", is_flag=True, help="Every project's sessions.")
@json_option
@cd_option
def usage(since, by, all_projects, as_json, cd):
    """Tokens and cost of the project's sessions, priced with the genai-prices table.

    A model the table does not know is priced `unknown` (never $0), and so is a
    group that contains one.

    \b
    Examples:
      csa usage
      csa usage --by model --since 7d
      csa usage --by day --json | jq '.[0].cost_usd'
    """
    from csa.cost import money, usage_report
    from csa.listing import list_sessions

    rows, _known = list_sessions(open_store(cd), since=since, all_projects=all_projects)
    report = usage_report(rows, by)
    if as_json:
        emit_json(report)
        return
    if not report:
        click.echo("No tokens recorded" + (" in that time" if since else " yet"), err=True)
        return
    body = [[g[by], g["sessions"], f"{g['tokens'].get('input_tokens', 0):,}",
             f"{g['tokens'].get('output_tokens', 0):,}", f"{g['total_tokens']:,}",
             money(g["cost_usd"])] for g in report]
    total = sum(g["total_tokens"] for g in report)
    from csa.cost import add

    body.append(["total", len({r["id"] for r in rows if r.get("usage")}), "", "", f"{total:,}",
                 money(add(g["cost_usd"] for g in report))])
    write_text(table([by.upper(), "SESSIONS", "INPUT", "OUTPUT", "TOKENS", "COST"], body))
