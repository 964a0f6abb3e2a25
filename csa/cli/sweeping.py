"""`csa sweep`: wiring only (csa.sweep does the work)."""

from __future__ import annotations

import click

from csa.cli.lifecycle import all_projects_option
from csa.cli.output import emit_json, json_option
from csa.cli.session import cd_option, open_store


@click.command("sweep")
@click.option("--dry-run", is_flag=True, help="Change nothing; report what would be done.")
@all_projects_option
@json_option
@cd_option
def sweep(dry_run, all_projects, as_json, cd):
    """Import the tools' transcripts, digest sessions, then gc and retention: the one
    command to schedule (contrib/systemd, contrib/cron.txt).

    Imports from config `sweep.import` (default: claude, codex, gemini, opencode),
    digests every session whose digest is missing or older than its transcript, then
    runs `csa gc` with the `[retention]` config (docs/retention.md). Exits 1 when a
    project's retention budget cannot be met.

    \b
    Examples:
      csa sweep
      csa sweep --all-projects --json
      csa sweep --dry-run
    """
    from csa.sweep import sweep as do_sweep

    summary = do_sweep(open_store(cd), all_projects=all_projects, dry_run=dry_run)
    if as_json:
        emit_json(summary)
    else:
        for line in summary_lines(summary):
            click.echo(line, err=True)
    failed = [p for p in summary["projects"] if not p["met"]]
    if failed:
        from csa.errors import CsaError

        raise CsaError(f"sweep: the retention budget of {len(failed)} project(s) cannot be met "
                       f"({failed[0]['project']}); raise retention.max_bytes there, or "
                       "remove sessions with: csa session clean --days N", exit_code=1)


def summary_lines(summary: dict) -> list[str]:
    """`sweep: imported 2 new session(s); /home/me/p: 3 digested, 1 evicted, 0 data loss`."""
    would = "would be " if summary["dry_run"] else ""
    created = sum(v["created"] for v in summary["imported"].values())
    updated = sum(v["updated"] for v in summary["imported"].values())
    lines = [f"sweep: {created} session(s) {would}imported, {updated} {would}updated"]
    for p in summary["projects"]:
        loss = f", DATA LOSS: {len(p['data_loss'])} undigested transcript(s) evicted" \
            if p["data_loss"] else ""
        lines.append(f"{p['project']}: {p['digested']} {would}digested, {p['evicted']} "
                     f"transcript(s) {would}evicted{loss}")
    return lines
