"""The ``counterwatch`` command: one group, one subcommand per role.

The group reads the settings once (environment, then an optional TOML file, then options) and
configures logging; each command lives in :mod:`counterwatch.commands` and is added here. A
domain error that reaches the group is printed as ``error: ...`` with exit status 2, never as a
traceback.
"""
from __future__ import annotations

import logging

from counterwatch.commands import analysis, buttons, catalog, ops, queries, record, sampling, services, signage, up, users  # noqa: F401 - buttons adds `agent call|buttons`
from counterwatch.group import root_group

logger = logging.getLogger("counterwatch")

cli = root_group(prog_name="counterwatch", doc="""counterwatch: record service counters, check courtesy language, drive hall screens.

    Every option can also be set as an environment variable COUNTERWATCH_<OPTION> or in the
    --config TOML file.
    """)

for command in (analysis.model, analysis.analyze,
                catalog.counter, catalog.site, catalog.event, catalog.staff, users.user, users.agent, users.events, catalog.catalog,
                record.record, services.worker, up.up, services.api,
                queries.search, queries.flags, queries.status, queries.show,
                ops.verify, ops.retention, ops.hold, ops.db, ops.alarm,
                signage.signage, sampling.sampling):
    cli.add_command(command)


def main() -> None:
    cli(prog_name="counterwatch")
