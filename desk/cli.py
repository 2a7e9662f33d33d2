"""``baton desk ...`` commands (the lead mounts ``desk_app`` on the main CLI)."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from desk.clock import FakeClock
from desk.config import DeskConfig, load_config
from desk.errors import ConfigError
from desk.simulate import SimulationReport, simulate

desk_app = typer.Typer(
    help="Human-agent desk: simulate routing, offers, timeouts and queues.", no_args_is_help=True
)


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f} s"


def render(report: SimulationReport, console: Console) -> None:
    """Print a simulation report as a table."""
    table = Table(title=f"Desk simulation ({report.backend}, seed {report.seed})")
    table.add_column("metric")
    table.add_column("value", justify="right")
    rows = [
        ("agents / handoffs", f"{report.agents} / {report.handoffs}"),
        ("simulated time", f"{report.simulated_s / 3600:.2f} h"),
        ("accepted", str(report.accepted)),
        ("completed", str(report.completed)),
        ("returned to AI", str(report.returned_to_ai)),
        ("expired (callback)", str(report.expired)),
        ("time to accept p50", _seconds(report.time_to_accept_p50_s)),
        ("time to accept p95", _seconds(report.time_to_accept_p95_s)),
        ("time to accept p99", _seconds(report.time_to_accept_p99_s)),
        ("re-offers", str(report.reoffers)),
        ("offer timeouts", str(report.timeouts)),
        ("declines", str(report.declines)),
        ("late answers", str(report.late_accepts)),
        ("max queue length", str(report.max_queue_length)),
        ("wall time", f"{report.wall_s:.2f} s"),
    ]
    for name, value in rows:
        table.add_row(name, value)
    console.print(table)


@desk_app.command("simulate")
def simulate_cmd(
    agents: Annotated[int, typer.Option("--agents", help="Simulated agents.")] = 20,
    handoffs: Annotated[int, typer.Option("--handoffs", help="Handoffs to submit.")] = 1000,
    seed: Annotated[int, typer.Option("--seed", help="Random seed (same seed, same report).")] = 0,
    no_show_rate: Annotated[
        float, typer.Option("--no-show-rate", help="Share of offers never answered.")
    ] = 0.1,
    decline_rate: Annotated[float, typer.Option("--decline-rate", help="Share of offers declined.")] = 0.05,
    load: Annotated[float, typer.Option("--load", help="Arrival load relative to capacity.")] = 0.85,
    config: Annotated[str | None, typer.Option("--config", help="Desk YAML (default: shipped).")] = None,
    redis_url: Annotated[
        str | None, typer.Option("--redis-url", help="Run on a RedisDesk (temporary key prefix).")
    ] = None,
) -> None:
    """Simulate agents and customers on a fake clock and print time-to-accept, re-offers and queues."""
    if not 1 <= agents <= 10_000:
        raise typer.BadParameter("must be between 1 and 10000", param_hint="--agents")
    if not 1 <= handoffs <= 1_000_000:
        raise typer.BadParameter("must be between 1 and 1000000", param_hint="--handoffs")
    for hint, rate in (("--no-show-rate", no_show_rate), ("--decline-rate", decline_rate)):
        if not 0.0 <= rate <= 1.0:
            raise typer.BadParameter("must be between 0 and 1", param_hint=hint)
    if no_show_rate + decline_rate > 1.0:
        raise typer.BadParameter("no-show rate + decline rate must not exceed 1", param_hint="--decline-rate")
    if not 0.0 < load <= 5.0:
        raise typer.BadParameter("must be in (0, 5]", param_hint="--load")
    try:
        desk_config = load_config(config)
    except ConfigError as exc:
        raise typer.BadParameter(str(exc), param_hint="--config") from exc
    report = asyncio.run(
        _run(agents, handoffs, seed, no_show_rate, decline_rate, load, desk_config, redis_url)
    )
    render(report, Console())


async def _run(
    agents: int,
    handoffs: int,
    seed: int,
    no_show_rate: float,
    decline_rate: float,
    load: float,
    config: DeskConfig,
    redis_url: str | None,
) -> SimulationReport:
    if not redis_url:
        return await simulate(
            agents,
            handoffs,
            seed=seed,
            no_show_rate=no_show_rate,
            decline_rate=decline_rate,
            load=load,
            config=config,
        )
    from redis.exceptions import RedisError

    from desk.redis_desk import RedisDesk, unique_prefix

    desk = RedisDesk(redis_url, config, prefix=unique_prefix("baton:desk:sim:"), clock=FakeClock())
    try:
        return await simulate(
            agents,
            handoffs,
            seed=seed,
            no_show_rate=no_show_rate,
            decline_rate=decline_rate,
            load=load,
            desk=desk,
        )
    except (RedisError, OSError) as exc:
        raise typer.BadParameter(f"cannot use Redis at {redis_url}: {exc}", param_hint="--redis-url") from exc
    finally:
        with contextlib.suppress(RedisError, OSError):
            await desk.clear()
        await desk.close()
