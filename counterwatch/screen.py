"""``counterwatch-screen``: the command of a screen box installed for screens only
(``scripts/install_screen.sh``): the waiting-area player (``counterwatch-screen signage``) and
nothing that needs the server or the speech stack (docs/signage.md, "A screen box")."""
from __future__ import annotations

from counterwatch.commands.signage import signage
from counterwatch.group import root_group

cli = root_group(prog_name="counterwatch-screen", doc="""counterwatch-screen: the waiting-area screen player of counterwatch.

    Every option can also be set as an environment variable COUNTERWATCH_<OPTION> or in the
    --config TOML file.
    """)
cli.add_command(signage)


def main() -> None:
    cli(prog_name="counterwatch-screen")
