"""`csa trust`: trust (or stop trusting) the current project's `.csa/config.toml`."""

from __future__ import annotations

import click

from csa.cli.output import emit_json, json_option, table, write_text
from csa.cli.session import cd_option


@click.command("trust")
@click.option("--list", "list_", is_flag=True, help="List every trusted project config.")
@click.option("--revoke", is_flag=True, help="Stop trusting this project's config.")
@json_option
@cd_option
def trust(list_, revoke, as_json, cd):
    """Trust this project's .csa/config.toml as it is now.

    A project config comes with the repository: its settings that run code
    (a tool's binary, env, args) are ignored until you trust the file. Trust
    covers the file's exact content (sha256): an edited file needs `csa trust`
    again. The list lives in the state dir (trust.toml).

    \b
    Examples:
      cat .csa/config.toml && csa trust
      csa trust --list
      csa trust --revoke
    """
    from csa import trust as t
    from csa.config import project_config_path
    from csa.paths import project_root

    if list_ and revoke:
        from csa.errors import UsageError

        raise UsageError("Use --list or --revoke, not both")
    if list_:
        rows = t.listing()
        if as_json:
            emit_json(rows)
        else:
            write_text(table(["STATE", "TRUSTED", "FILE"],
                             [(r["state"], r["trusted_at"] or "", r["path"]) for r in rows])
                       if rows else "No trusted project configs.\n")
        return
    path = project_config_path(project_root(cd))
    if revoke:
        done = t.revoke(path)
        if as_json:
            emit_json({"path": str(path), "revoked": done})
        else:
            click.echo(f"No longer trusted: {path}" if done else f"{path} was not trusted")
        return
    entry = t.trust_file(path)
    if as_json:
        emit_json(entry)
    else:
        click.echo(f"Trusted {path} (sha256 {entry['sha256'][:12]}); edit it and it needs "
                   "`csa trust` again")
