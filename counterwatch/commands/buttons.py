"""`counterwatch agent call` and `counterwatch agent buttons`: the hall's hardware call button on a
capture agent's box (issue 21 item 1), with the agent's own token and settings (docs/hall.md)."""
from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import click

from counterwatch.commands.common import data_option, fail, settings_of
from counterwatch.commands.record import _api_url, _token_file
from counterwatch.commands.users import agent
from counterwatch.stack import StackError, read_secret

if TYPE_CHECKING:
    from recorder.client import AgentClient, Binding

logger = logging.getLogger("counterwatch")

counter_option = click.option("--counter", "counter_name", required=True,
                              help="The counter whose agent this is (its token file is DATA/agents/COUNTER.token).")
api_option = click.option("--api", "api_url", default=None,
                          help="The counterwatch API [COUNTERWATCH_API_URL; default: the embedded stack of --data].")
token_option = click.option("--token-file", type=click.Path(dir_okay=False, path_type=Path), default=None,
                            help="The agent's token [COUNTERWATCH_TOKEN_FILE; default DATA/agents/COUNTER.token].")


def _presser(ctx: click.Context, counter_name: str, api_url: str | None, token_file: Path | None,
             data_dir: Path | None) -> tuple[AgentClient, Binding, Callable[[str], dict]]:
    """The agent's client, its binding (checked now: a bad token fails at once), and a function
    pressing one queue button of its counter."""
    from recorder.client import AgentClient, TransportError

    s = settings_of(ctx, data_dir=data_dir, api_url=api_url, token_file=token_file)
    try:
        client = AgentClient(api_url=_api_url(s), token=read_secret(_token_file(s, counter_name), "agent token"))
        binding = client.hello()
    except (StackError, ValueError, TransportError) as e:
        fail(str(e))
    counter_id = binding.counter_id
    if counter_id is None:
        fail(f"the API at {client.api_url} does not say the agent's counter id (an older API?)")

    def press(action: str) -> dict:
        got = client.queue(counter_id, action)
        logger.info("counter %s: %s %s", binding.counter, action, got.get("code", ""))
        return got

    return client, binding, press


@agent.command("call")
@click.argument("action", type=click.Choice(["next", "recall", "pause", "resume", "finish", "skip"]))
@counter_option
@api_option
@token_option
@data_option
@click.pass_context
def agent_call(ctx: click.Context, action: str, counter_name: str, api_url: str | None, token_file: Path | None,
               data_dir: Path | None) -> None:
    """Press a queue button of this agent's counter: call the next number (next), call it again
    (recall), pause or resume the counter (暂停服务), finish or skip the current number. Uses
    the agent's own token, which may work its own counter's queue and no other's."""
    from recorder.client import TransportError

    client, binding, press = _presser(ctx, counter_name, api_url, token_file, data_dir)
    try:
        got = press("call-next" if action == "next" else action)
    except TransportError as e:
        fail(f"{action} at {binding.site}/{binding.counter}: {e}")
    finally:
        client.close()
    if action in ("next", "recall"):
        click.echo(f"{binding.counter}: {got.get('code') or '没有等候的号'}")
    else:
        click.echo(f"{binding.counter}: {action} done")


@agent.command("buttons")
@counter_option
@api_option
@token_option
@data_option
@click.pass_context
def agent_buttons(ctx: click.Context, counter_name: str, api_url: str | None, token_file: Path | None,
                  data_dir: Path | None) -> None:
    """Read a USB call keypad (seen as a keyboard) on standard input and press this counter's
    queue buttons: 1 call next, 2 recall, 3 pause, 4 resume, 5 finish (also n/r/p/g/f, KEY_KP1..5,
    or the action's name, one per line from a pipe). On a terminal each key acts at once; a
    failed press is logged and the next key read. Ends at end of input (Ctrl-D)."""
    import sys

    from recorder.buttons import read_keys, run

    client, binding, press = _presser(ctx, counter_name, api_url, token_file, data_dir)
    click.echo(f"buttons of {binding.site}/{binding.counter} ready", err=True)
    try:
        n = run(read_keys(sys.stdin), press)
    finally:
        client.close()
    click.echo(f"{n} press(es) sent", err=True)
