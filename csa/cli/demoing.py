"""`csa demo`: a small agent tree, run on the spot, offline and without an API key."""

from __future__ import annotations

import sys

import click


@click.command("demo")
@click.option("--keep", is_flag=True, help="Keep the temp dir (state, project, agent store).")
@click.option("--state-dir", metavar="DIR",
              help="Keep the demo's sessions in DIR instead of the temp dir.")
def demo(keep, state_dir):
    """Run a small agent tree offline, with no API key, and show it.

    A demo agent shipped with csa (speaking claude's and codex's real output
    formats) stands in for the AI CLIs. In a temp dir with its own HOME, config
    and state dir: a parent session whose agent starts two child sessions of
    different tools, a resume by id prefix, `session list --tree` and
    `session search`. Your own config and sessions are not touched.

    \b
    Examples:
      csa demo
      csa demo --keep
      csa demo --state-dir /tmp/csa-demo-state
    """
    from csa.demo import run_demo

    sys.exit(run_demo(keep=keep, state_dir=state_dir))
