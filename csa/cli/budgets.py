"""Printing a retention budget's outcome (`csa gc`), and failing when it cannot be met."""

from __future__ import annotations

import click


def print_evictions(budget: dict, dry_run: bool) -> None:
    """One line per evicted transcript (data loss said as such), then the budget line."""
    from csa.cli.output import human_bytes

    for item in budget["evicted"]:
        click.echo(f"{'would evict' if dry_run else 'evicted'} transcript of {item['id']} "
                   f"({human_bytes(item['bytes'])})")
    for item in budget.get("data_loss", []):
        click.echo(f"{'would evict' if dry_run else 'DATA LOSS: evicted'} undigested transcript "
                   f"of {item['id']} ({human_bytes(item['bytes'])}, over the hard cap)")
    if budget.get("met", True):
        click.echo(budget_line(budget), err=True)


def unmet_budget_fails(budget: dict) -> None:
    """An unreachable budget is a failure: one line on stderr, exit 1."""
    if budget.get("met", True):
        return
    from csa.errors import CsaError

    raise CsaError(budget_line(budget) + "; raise retention.max_bytes (or --max-bytes), "
                   "or remove sessions with: csa session clean --days N", exit_code=1)


def budget_line(budget: dict) -> str:
    """The size budget's outcome, saying so when it could not be met and why."""
    from csa.cli.output import human_bytes

    cap = f"Budget {human_bytes(budget['max_bytes'])}" if budget["max_bytes"] else "Retention"
    line = (f"{cap}: {human_bytes(budget['before'])} "
            f"-> {human_bytes(budget['after'])}")
    if budget.get("met", budget["after"] <= budget["max_bytes"]):
        return line + " (met)"
    kept = [f"{budget['skipped_live']} running session(s) kept"] if budget.get("skipped_live") \
        else []
    if budget.get("skipped_undigested"):
        kept.append(f"{budget['skipped_undigested']} undigested transcript(s) kept "
                    "(--force to evict them)")
    kept.append("state.toml, results and journals are never evicted")
    return (f"{line}: NOT met, {human_bytes(budget['after'] - budget['max_bytes'])} over; "
            + "; ".join(kept))
