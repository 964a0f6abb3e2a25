"""`csa session scrub`."""

from __future__ import annotations

import click

from csa.cli.output import emit_json, json_option
from csa.cli.session import cd_option, open_store, session_option
from csa.errors import UsageError


@click.command("scrub")
@session_option(required=False)
@click.option("--all-projects", is_flag=True, help="Scrub every project's sessions.")
@click.option("--dry-run", is_flag=True, help="Change nothing; list what would change.")
@json_option
@cd_option
def scrub(session, all_projects, dry_run, as_json, cd):
    """Re-apply the current redaction rules to stored sessions.

    Transcripts, state, journal, results, search-index rows and checkpoint history
    are rewritten where the current rules find a secret the stored text still holds.
    Without -s, every session of the project. Running sessions are skipped.

    \b
    Examples:
      csa session scrub --dry-run
      csa session scrub -s 01JH4Q
      csa session scrub --all-projects --json
    """
    from csa.scrub import scrub as do_scrub

    if session and all_projects:
        raise UsageError("give either -s ID or --all-projects, not both")
    rep = do_scrub(open_store(cd), sid=session, all_projects=all_projects, dry_run=dry_run)
    if as_json:
        emit_json(rep)
        return
    verb = "would change" if dry_run else "changed"
    for s in rep["sessions"]:
        for f in s["files"]:
            click.echo(f"{s['id']}  {f['file']}: {verb} {f['changed']}")
    for s in rep["skipped"]:
        click.echo(f"skipped {s['id']}: {s['reason']}", err=True)
    if not rep["sessions"]:
        click.echo("Nothing to scrub: the stored sessions pass the current rules.", err=True)
