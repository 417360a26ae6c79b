"""`counterwatch signage`: the waiting-area screen player."""
from __future__ import annotations

import os
import threading
from pathlib import Path

import click

from counterwatch.commands.common import EXIT_BAD_INPUT, data_option, fail, open_engine, settings_of, stop_on_signals
from counterwatch.settings import Settings
from counterwatch.stack import StackError, paths, read_state


def _api_url(s: Settings, api: str | None) -> str | None:
    if api:
        return api
    try:
        return read_state(paths(s)).get("api_url")
    except StackError:
        return None


def _token(s: Settings, *, screen: str, site: str, cache: Path, token: str | None) -> str | None:
    """The screen's token: given, remembered in the cache, or (embedded stack) issued now."""
    from signage.sync import write_private

    saved = cache / "token"
    if token:
        return token
    if saved.exists():
        return saved.read_text().strip()
    if not paths(s).db.exists() and not s.database_url:
        return None
    try:
        from services.catalog import Catalog
        from services.signage import register_screen
    except ImportError:   # a screen box (scripts/install_screen.sh): no server code to register with
        fail("this install is for screens only: give --api URL and --token (register the screen in the console)")

    engine = open_engine(s)
    Catalog(engine).add_site(site)      # a fresh stack has no site yet (issue 18)
    _, new = register_screen(engine, site=site, name=screen)
    write_private(saved, new)
    click.echo(f"registered screen {screen} at site {site}; its token is kept in {saved}")
    return new


@click.command()
@click.option("--screen", required=True, envvar="COUNTERWATCH_SCREEN", help="Screen name [COUNTERWATCH_SCREEN].")
@data_option
@click.option("--api", "api", default=None, envvar="COUNTERWATCH_API",
              help="API base URL, e.g. http://hall-server:8000 [COUNTERWATCH_API; default: the embedded stack's].")
@click.option("--token", default=None, envvar="COUNTERWATCH_SCREEN_TOKEN",
              help="The screen's bearer token [COUNTERWATCH_SCREEN_TOKEN; embedded stack: issued on first run].")
@click.option("--site", default=None, envvar="COUNTERWATCH_SITE",
              help="Site to register the screen at, on first run [default hall].")
@click.option("--cache", "cache_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              envvar="COUNTERWATCH_SIGNAGE_CACHE", help="Content cache [default DATA/signage-cache/SCREEN].")
@click.option("--windowed", is_flag=True, envvar="COUNTERWATCH_SIGNAGE_WINDOWED",
              help="A 960x540 window instead of full screen.")
@click.option("--poll", "poll_s", type=click.FloatRange(0.2, 60), default=1.0, envvar="COUNTERWATCH_SIGNAGE_POLL_S",
              help="Seconds between manifest polls (schedule changes and interrupts show within about this).")
@click.option("--calls-poll", "calls_poll_s", type=click.FloatRange(0.1, 10), default=0.25,
              envvar="COUNTERWATCH_SIGNAGE_CALLS_POLL_S",
              help="Seconds between the cheap 'any new queue call?' requests [0.25].")
@click.option("--chime/--no-chime", default=None,
              help="Chime when a new queue call appears [COUNTERWATCH_SIGNAGE_CHIME, setting signage_chime; off].")
@click.option("--announce/--no-announce", default=None,
              help="Say each new queue call in Mandarin (after the chime), as the API speaks it "
                   "[COUNTERWATCH_SIGNAGE_ANNOUNCE, setting signage_announce; on]. Off where the hall's own "
                   "queue system already announces calls.")
@click.option("--mute/--sound", "mute", default=None, envvar="COUNTERWATCH_SIGNAGE_MUTE",
              help="Play without sound (no audio output opened; no chime, no spoken calls) [COUNTERWATCH_SIGNAGE_MUTE; "
                   "default: muted only where the box has no sound device].")
@click.option("--metrics-port", type=click.IntRange(1, 65535), default=None, envvar="COUNTERWATCH_SIGNAGE_METRICS_PORT",
              help="Serve Prometheus metrics on 127.0.0.1:PORT/metrics [COUNTERWATCH_SIGNAGE_METRICS_PORT].")
@click.pass_context
def signage(ctx: click.Context, screen: str, data_dir: Path | None, api: str | None, token: str | None,
            site: str | None, cache_dir: Path | None, windowed: bool, poll_s: float, calls_poll_s: float,
            chime: bool | None, announce: bool | None, mute: bool | None, metrics_port: int | None) -> None:
    """Play a waiting-area screen: its schedule, the now-serving ticker, interrupts.

    Keeps playing from its cache when the server is unreachable. Ctrl-C stops it.
    """
    from signage.chime import write_chime
    from signage.player import Player, PlayerOptions, tune_malloc
    from signage.sync import ApiClient, ContentCache, Syncer

    # before any thread allocates (see there)
    tune_malloc(PlayerOptions.malloc_arena_max, PlayerOptions.malloc_mmap_threshold)

    if not os.environ.get("DISPLAY"):
        fail("no X display: set DISPLAY (e.g. DISPLAY=:0)", EXIT_BAD_INPUT)
    s = settings_of(ctx, data_dir=data_dir)
    cache = ContentCache(cache_dir or paths(s).root / "signage-cache" / screen)
    api_url = _api_url(s, api)
    tok = _token(s, screen=screen, site=site or s.site, cache=cache.root, token=token)
    client = None
    if api_url and tok:
        client = ApiClient(base_url=api_url, token=tok)
    elif cache.load_manifest() is None:
        fail("no API (--api or a running `counterwatch up --data DIR`) and nothing cached to play")
    else:
        click.echo("no API configured: playing from the cache only", err=True)
    syncer = Syncer(client=client, screen=screen, cache=cache, poll_s=poll_s, calls_poll_s=calls_poll_s)
    chime_path = write_chime(cache.root / "chime.wav") if (s.signage_chime if chime is None else chime) else None
    player = Player(screen=screen, cache=cache, syncer=syncer,
                    options=PlayerOptions(windowed=windowed, chime_path=chime_path,
                                          announce=s.signage_announce if announce is None else announce,
                                          audio=None if mute is None else not mute))
    if metrics_port:
        from counterwatch.metrics_http import serve_metrics
        from signage.metrics import register_player

        register_player(syncer=syncer, cache=cache)
        serve_metrics(metrics_port, actor=f"screen {screen}")
    stop = threading.Event()
    stop_on_signals(stop, f"screen {screen}")
    sync_thread = threading.Thread(target=syncer.run, args=(stop,), name="signage-sync", daemon=True)
    sync_thread.start()
    click.echo(f"screen {screen}: playing (API {api_url or 'none'}, cache {cache.root}); Ctrl-C to stop")
    try:
        player.run(stop)
    finally:
        stop.set()
        sync_thread.join(10)

