"""`csa top`: a full-screen live view of the project's session tree."""

from __future__ import annotations

import click

from csa.cli.session import cd_option, open_store


@click.command("top")
@click.option("--once", is_flag=True, help="Print the view once as text and exit.")
@click.option("--filter", "filter_text", metavar="TEXT", default="",
              help="Only rows whose id, tool, state or description contains TEXT.")
@cd_option
def top(once, filter_text, cd):
    """A live view of the project's session tree, running sessions first.

    Columns: session, tool, state (working, stalled, done, failed, died), elapsed,
    turns, tokens, cost, last event; refreshed twice a second. Keys: enter shows
    the session's logs (following; Ctrl-C returns), k kills its run (after y),
    / filters, q quits.

    \b
    Examples:
      csa top
      csa top --filter codex
      csa top --once
    """
    from csa.top import as_text, snapshot

    store = open_store(cd)
    if once:
        click.echo(as_text(snapshot(store, filter_text)), nl=False)
        return
    try:
        from csa.top_app import TopApp
    except ImportError as e:
        from csa.errors import CsaError

        raise CsaError(f"csa top needs Textual ({e}); install it with: pip install textual") from None
    app = TopApp(store)
    app.filter_text = filter_text
    app.run()
