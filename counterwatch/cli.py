"""The ``counterwatch`` command: one group, one subcommand per role.

The group reads the settings once (environment, then an optional TOML file, then options) and
configures logging; each command lives in :mod:`counterwatch.commands` and is added here. A
domain error that reaches the group is printed as ``error: ...`` with exit status 2, never as a
traceback.
"""
from __future__ import annotations

import logging
from typing import Any

import click

from counterwatch import __version__
from counterwatch.commands import analysis, catalog, ops, queries, record, services, signage, up, users
from counterwatch.commands.common import EXIT_BAD_INPUT
from counterwatch.logs import setup_logging
from counterwatch.settings import SettingsError, load_settings
from domain.errors import DomainError

logger = logging.getLogger("counterwatch")


class _Group(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except DomainError as e:
            click.echo(f"error: {e}", err=True)
            ctx.exit(EXIT_BAD_INPUT)


@click.group(cls=_Group,
             context_settings={"help_option_names": ["-h", "--help"], "auto_envvar_prefix": "COUNTERWATCH"})
@click.version_option(__version__, prog_name="counterwatch")
@click.option("--config", type=click.Path(dir_okay=False), envvar="COUNTERWATCH_CONFIG",
              help="TOML settings file (keys as in COUNTERWATCH_* without the prefix).")
@click.option("--log-level", default=None, help="DEBUG, INFO, WARNING or ERROR [COUNTERWATCH_LOG_LEVEL].")
@click.option("--log-format", type=click.Choice(["text", "json"]), default=None,
              help="text (key=value) or json lines [COUNTERWATCH_LOG_FORMAT].")
@click.pass_context
def cli(ctx: click.Context, config: str | None, log_level: str | None, log_format: str | None) -> None:
    """counterwatch: record service counters, check courtesy language, drive hall screens.

    Every option can also be set as an environment variable COUNTERWATCH_<OPTION> or in the
    --config TOML file.
    """
    try:
        settings = load_settings(config, log_level=log_level, log_format=log_format)
    except SettingsError as e:
        raise click.ClickException(str(e)) from e
    setup_logging(settings.log_level, settings.log_format)
    ctx.obj = settings


for command in (analysis.model, analysis.analyze,
                catalog.counter, catalog.site, catalog.event, catalog.staff, users.user, users.agent, catalog.catalog,
                record.record, services.worker, up.up, services.api,
                queries.search, queries.flags, queries.status, queries.show,
                ops.verify, ops.retention, ops.hold, ops.db,
                signage.signage):
    cli.add_command(command)


def main() -> None:
    cli(prog_name="counterwatch")
