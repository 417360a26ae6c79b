"""The root group every ``counterwatch`` command runs under: settings read once (environment,
then an optional TOML file, then options), logging configured, a domain error printed as
``error: ...`` with exit status 2. Shared by the full command (:mod:`counterwatch.cli`) and the
screen box's lean one (:mod:`counterwatch.screen`), so it imports nothing of the server or the
speech stack."""
from __future__ import annotations

from typing import Any

import click

from counterwatch import __version__
from counterwatch.commands.common import EXIT_BAD_INPUT
from counterwatch.logs import setup_logging
from counterwatch.settings import SettingsError, load_settings
from domain.errors import DomainError


class _Group(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except DomainError as e:
            click.echo(f"error: {e}", err=True)
            ctx.exit(EXIT_BAD_INPUT)


def root_group(*, prog_name: str, doc: str) -> click.Group:
    """A root group named ``prog_name`` with the common options; ``doc`` is its help."""

    @click.group(cls=_Group, name=prog_name, help=doc,
                 context_settings={"help_option_names": ["-h", "--help"], "auto_envvar_prefix": "COUNTERWATCH"})
    @click.version_option(__version__, prog_name=prog_name)
    @click.option("--config", type=click.Path(dir_okay=False), envvar="COUNTERWATCH_CONFIG",
                  help="TOML settings file (keys as in COUNTERWATCH_* without the prefix).")
    @click.option("--log-level", default=None, help="DEBUG, INFO, WARNING or ERROR [COUNTERWATCH_LOG_LEVEL].")
    @click.option("--log-format", type=click.Choice(["text", "json"]), default=None,
                  help="text (key=value) or json lines [COUNTERWATCH_LOG_FORMAT].")
    @click.pass_context
    def group(ctx: click.Context, config: str | None, log_level: str | None, log_format: str | None) -> None:
        try:
            settings = load_settings(config, log_level=log_level, log_format=log_format)
        except SettingsError as e:
            raise click.ClickException(str(e)) from e
        setup_logging(settings.log_level, settings.log_format)
        ctx.obj = settings

    return group
