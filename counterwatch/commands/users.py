"""People and machines: `counterwatch user ...` and `counterwatch agent token`."""
from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import click

from counterwatch.commands.common import cli_actor, data_option, fail, open_engine, settings_of, site_option
from counterwatch.stack import paths, write_secret
from domain.vocab import ROLES

DAY_S = 86400.0
ttl_option = click.option("--ttl-days", type=click.FloatRange(min=0.001, max=3650), default=365.0, show_default=True,
                          help="The token expires after this many days.")
no_expiry_option = click.option("--no-expiry", is_flag=True,
                                help="The token never expires (only when asked for: revoke it by hand).")


def _when(s: float | None) -> str:
    return "never" if s is None else dt.datetime.fromtimestamp(s, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


@click.group()
def user() -> None:
    """Users of the API and console, and their tokens."""


@user.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(ROLES), required=True)
@click.option("--site", "sites", multiple=True, help="Site the user may see (repeatable); none: all (admin).")
@click.option("--password", is_flag=True, help="Ask for a console password (or read COUNTERWATCH_USER_PASSWORD); "
                                               "a new one ends the user's console sessions.")
@click.option("--staff", default=None, help="For --role staff: the person's name on the site's roster (they see "
                                           "only their own interactions and findings).")
@ttl_option
@no_expiry_option
@data_option
@click.pass_context
def user_add(ctx: click.Context, name: str, role: str, sites: tuple[str, ...], password: bool, ttl_days: float,
             no_expiry: bool, data_dir: Path | None, staff: str | None) -> None:
    """Create or update user NAME and print a new API token (shown once).

    A person (admin, supervisor, viewer, staff) never becomes a machine user (agent, screen) nor the
    other way round; capture agents' tokens come from `counterwatch agent token`, screens' from
    their registration.
    """
    from services import audit
    from services.accounts import add_user

    s = settings_of(ctx, data_dir=data_dir)
    pw = None
    if password:
        pw = os.environ.get("COUNTERWATCH_USER_PASSWORD") or click.prompt(
            "password", hide_input=True, confirmation_prompt=True)
    engine = open_engine(s)
    u = add_user(engine, name, role=role, sites=list(sites), password=pw, token_ttl_s=None if no_expiry else ttl_days * DAY_S,
                 staff=staff)
    audit.record(engine, None, action="user.add", user_name=cli_actor(), target=f"user:{u.name}",
                 detail=f"role {u.role} sites {','.join(u.sites) or 'all'}{' password set' if pw else ''}; token "
                        + ("without expiry" if no_expiry else f"for {ttl_days:g} days"))
    click.echo(f"user {u.name} (#{u.id}) role={u.role} sites={','.join(u.sites) or 'all'}", err=True)
    click.echo(u.token)


@user.command("disable")
@click.argument("name")
@data_option
@click.pass_context
def user_disable(ctx: click.Context, name: str, data_dir: Path | None) -> None:
    """Disable user NAME now: every token and console session of it stops working
    (`user add` enables it again, with a new token)."""
    from services.tokens import disable_user

    s = settings_of(ctx, data_dir=data_dir)
    n = disable_user(open_engine(s), name, actor=cli_actor())
    click.echo(f"user {name} disabled; {n} token(s) revoked")


@user.command("tokens")
@click.argument("name")
@data_option
@click.pass_context
def user_tokens(ctx: click.Context, name: str, data_dir: Path | None) -> None:
    """List the tokens of user NAME (id, kind, created, expires, last used; never the token)."""
    from services.tokens import list_tokens

    s = settings_of(ctx, data_dir=data_dir)
    rows = list_tokens(open_engine(s), name)
    for t in rows:
        state = " EXPIRED" if t.expired else ""
        click.echo(f"{t.id}\t{t.label}\tcreated {_when(t.created_s)}\texpires {_when(t.expires_s)}{state}\t"
                   f"last used {_when(t.last_used_s) if t.last_used_s else '-'}")
    if not rows:
        click.echo(f"user {name} has no tokens", err=True)


@user.command("revoke")
@click.argument("token_id", type=click.IntRange(1))
@data_option
@click.pass_context
def user_revoke(ctx: click.Context, token_id: int, data_dir: Path | None) -> None:
    """Revoke token TOKEN_ID (from `user tokens`) now."""
    from services.tokens import revoke_token

    s = settings_of(ctx, data_dir=data_dir)
    owner = revoke_token(open_engine(s), token_id, actor=cli_actor())
    click.echo(f"token {token_id} of user {owner} revoked")


def _hand_out(token: str, out: Path | None, default: Path) -> Path | None:
    """Print a machine's token (``--out -``: None) or write it where asked (default ``default``),
    mode 0600, and say where."""
    if out is not None and str(out) == "-":
        click.echo(token)
        return None
    path = out or default
    try:
        write_secret(path, token + "\n")
    except OSError as e:
        fail(f"cannot write {path}: {e.strerror}")
    return path


@click.group()
def agent() -> None:
    """Capture agents' credentials: a token bound to one counter."""


@agent.command("token")
@click.option("--counter", "counter_name", required=True, help="The counter the agent records.")
@site_option
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the token here, mode 0600 (default DATA/agents/COUNTER.token); '-' prints it.")
@ttl_option
@no_expiry_option
@data_option
@click.pass_context
def agent_token(ctx: click.Context, counter_name: str, site: str | None, out: Path | None, ttl_days: float,
                no_expiry: bool, data_dir: Path | None) -> None:
    """Issue a token for the agent of one counter, into a file only its owner can read.

    The token sends that counter's chunks, live segments, heartbeats and session ends through
    the API, and reads nothing. Copy the file to the agent's box (`counterwatch record
    --token-file`); older tokens of the agent work until they expire or are revoked
    (`counterwatch user tokens agent:SITE/COUNTER`).
    """
    from services.tokens import issue_agent_token

    s = settings_of(ctx, site=site, data_dir=data_dir)
    t = issue_agent_token(open_engine(s), site=s.site, counter=counter_name,
                          ttl_s=None if no_expiry else ttl_days * DAY_S, actor=cli_actor())
    path = _hand_out(t.token, out, paths(s).agents / f"{t.counter}.token")
    if path is None:
        return
    click.echo(f"agent token for {t.site}/{t.counter} (user {t.user}, expires {_when(t.expires_s)}) written to {path}")


@click.group()
def events() -> None:
    """Queue and rating systems' credentials: a token bound to a site or one counter, for
    `POST /api/v1/events` only (`counterwatch event ...` writes events directly)."""


@events.command("token")
@click.option("--counter", "counter_name", default=None, help="Bind the token to this counter (default: the whole site).")
@site_option
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the token here, mode 0600 (default DATA/events/SITE[-COUNTER].token); '-' prints it.")
@ttl_option
@no_expiry_option
@data_option
@click.pass_context
def events_token(ctx: click.Context, counter_name: str | None, site: str | None, out: Path | None, ttl_days: float,
                 no_expiry: bool, data_dir: Path | None) -> None:
    """Issue a token for a queue or rating system of the site (or of one counter).

    It records queue calls, rating presses and pauses of that site (counter) and can do nothing
    else; older tokens work until they expire or are revoked (`counterwatch events revoke`).
    """
    from services.tokens import issue_event_token

    s = settings_of(ctx, site=site, data_dir=data_dir)
    t = issue_event_token(open_engine(s), site=s.site, counter=counter_name,
                          ttl_s=None if no_expiry else ttl_days * DAY_S, actor=cli_actor())
    path = _hand_out(t.token, out, paths(s).root / "events" / (f"{t.site}-{t.counter}.token" if t.counter else f"{t.site}.token"))
    if path is None:
        return
    click.echo(f"event-source token for {t.site}{'/' + t.counter if t.counter else ''} (user {t.user}, "
               f"expires {_when(t.expires_s)}) written to {path}")


@events.command("revoke")
@click.option("--counter", "counter_name", default=None, help="The counter's event source (default: the site's).")
@site_option
@data_option
@click.pass_context
def events_revoke(ctx: click.Context, counter_name: str | None, site: str | None, data_dir: Path | None) -> None:
    """Revoke every token of the site's (or counter's) event source now."""
    from services.tokens import UserNotFound, revoke_event_tokens

    s = settings_of(ctx, site=site, data_dir=data_dir)
    try:
        n = revoke_event_tokens(open_engine(s), site=s.site, counter=counter_name, actor=cli_actor())
    except UserNotFound as e:
        fail(str(e))
    click.echo(f"{n} token(s) of the event source of {s.site}{'/' + counter_name if counter_name else ''} revoked")
