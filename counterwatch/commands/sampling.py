"""Sampling (抽检) for scripts: draw a plan's day or week, as the console's 抽取 does."""
from __future__ import annotations

from pathlib import Path

import click

from counterwatch.commands.common import cli_actor, data_option, open_engine, settings_of
from counterwatch.commands.ops import parse_date


@click.group()
def sampling() -> None:
    """Sampling plans (抽检计划): draw interactions for reviewers to score."""


@sampling.command("draw")
@click.option("--plan", "plan_id", type=click.IntRange(1, 2_147_483_647), required=True, envvar="COUNTERWATCH_PLAN",
              help="The plan's id (shown on the console's 抽检 page) [COUNTERWATCH_PLAN].")
@click.option("--day", "day_str", required=True, envvar="COUNTERWATCH_DAY",
              help="A day of the period to draw, YYYY-MM-DD on the site's clock (a weekly plan draws the "
                   "Monday-to-Sunday week holding it) [COUNTERWATCH_DAY].")
@click.option("--seed", type=click.IntRange(0, 2**53 - 1), default=None, envvar="COUNTERWATCH_SEED",
              help="Draw with this seed instead of the plan's [COUNTERWATCH_SEED].")
@data_option
@click.pass_context
def draw(ctx: click.Context, plan_id: int, day_str: str, seed: int | None, data_dir: Path | None) -> None:
    """Draw the plan's period holding --day and assign the drawn interactions to its reviewers.

    The same seed over the same interactions always draws the same set; a period drawn already
    is printed unchanged (a different --seed for it is refused). Prints the period, the seed,
    how many were drawn of how many, then one line per interaction: id, staff, reviewer. The
    draw is written to the audit log.
    """
    from services import audit
    from services.sampling import draw as draw_plan

    s = settings_of(ctx, data_dir=data_dir)
    engine = open_engine(s)
    actor = cli_actor()
    view = draw_plan(engine, plan_id, parse_date(day_str, "--day"), user=None, actor=actor, seed=seed)
    if not view.existing:
        audit.record(engine, None, action="sampling.draw", target=f"site:{view.site}", user_name=actor,
                     detail=f"抽检计划“{view.plan_name}”抽取 {view.period_start} 起：随机种子 {view.seed}，{view.population} 条中抽出 "
                            f"{len(view.interaction_ids)} 条（录音 {'、'.join(map(str, view.interaction_ids))}）"[:2000])
    click.echo(f"plan {plan_id} {view.period_start}..{view.period_end} seed {view.seed}: "
               f"{len(view.interaction_ids)} of {view.population} drawn" + (" (drawn before)" if view.existing else ""))
    for a in view.assignments:
        click.echo(f"  interaction {a.interaction_id}\t{a.staff or '-'}\treviewer {a.reviewer or '(none)'}")
