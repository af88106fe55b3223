"""Bench harness: figures, medians, an HTTP load helper (wrk) and the one result table.

A bench module `bench/bench_<topic>.py` exposes `run() -> list[Figure]`. Each figure says
what was measured, the goal it must meet, a baseline for comparison (e.g. an earlier
reference measurement) and whether it passed.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
import resource
import shutil
import statistics
import subprocess
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from rich.console import Console
from rich.table import Table


@dataclass(frozen=True)
class Figure:
    name: str
    goal: str
    measured: float | str
    baseline: float | str | None
    passed: bool
    unit: str = ""

    def show(self, value: float | str | None) -> str:
        if value is None:
            return "-"
        if isinstance(value, float):
            text = f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"
        else:
            text = str(value)
        return f"{text} {self.unit}".strip() if isinstance(value, (int, float)) else text


def median_of(n: int, fn: Callable[[], float]) -> float:
    """The median of `n` calls of `fn` (one warm-up is the caller's business)."""
    return statistics.median(fn() for _ in range(n))


def percentile(values: list[float], p: float) -> float:
    """The `p`-th percentile of `values` (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def raise_open_files_limit() -> int:
    """Lift the soft open-files limit to the hard one (load tests hold many sockets)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else max(soft, 65536)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


# --------------------------------------------------------------------------- wrk


class LoadToolMissing(RuntimeError):
    pass


@dataclass(frozen=True)
class Load:
    requests_per_s: float
    latency_ms: dict[str, float] = field(default_factory=dict)  # "50%", "75%", "90%", "99%"
    requests: int = 0
    errors: int = 0  # socket errors + non-2xx/3xx
    raw: str = ""


_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def _ms(text: str) -> float:
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text.strip())
    if not m:
        raise ValueError(f"not a wrk duration: {text!r}")
    return float(m.group(1)) * _UNITS_MS[m.group(2)]


def parse_wrk(output: str) -> Load:
    rps = re.search(r"^Requests/sec:\s+([\d.]+)", output, re.M)
    if not rps:
        raise RuntimeError(f"unexpected wrk output:\n{output}")
    latency = {p: _ms(v) for p, v in re.findall(r"^\s+(\d+(?:\.\d+)?%)\s+([\d.]+(?:us|ms|s|m))\s*$", output, re.M)}
    total = re.search(r"^\s+(\d+) requests in", output, re.M)
    errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", output))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return Load(
        requests_per_s=float(rps.group(1)),
        latency_ms=latency,
        requests=int(total.group(1)) if total else 0,
        errors=errors + (int(non2xx.group(1)) if non2xx else 0),
        raw=output,
    )


def wrk(url: str, *, duration: float = 3.0, threads: int = 2, connections: int = 32, timeout: float = 5.0,
        headers: dict[str, str] | None = None) -> Load:
    """HTTP load against `url` for a bounded time, with latency percentiles (`wrk --latency`)."""
    binary = shutil.which("wrk")
    if not binary:
        raise LoadToolMissing("wrk is not installed (Debian: apt-get install wrk; `make bench` does it)")
    argv = [
        binary, f"-t{threads}", f"-c{connections}", f"-d{max(1, round(duration))}s",
        f"--timeout={max(1, round(timeout))}s", "--latency", url,
    ]  # fmt: skip
    for name, value in (headers or {}).items():
        argv[1:1] = ["-H", f"{name}: {value}"]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=duration + timeout + 30, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr or done.stdout}")
    return parse_wrk(done.stdout)


# --------------------------------------------------------------------------- running


def discover(selected: Sequence[str] = ()) -> list[str]:
    import bench

    names = sorted(m.name for m in pkgutil.iter_modules(bench.__path__) if m.name.startswith("bench_"))
    if selected:
        names = [n for n in names if any(word in n for word in selected)]
    return [f"bench.{n}" for n in names]


def run_module(module_name: str) -> list[Figure]:
    try:
        module = importlib.import_module(module_name)
        return list(module.run())
    except Exception as exc:  # noqa: BLE001 - one broken bench must not hide the others
        traceback.print_exc()
        return [Figure(module_name.removeprefix("bench."), "runs", f"error: {exc}", None, False)]


def render(figures: Sequence[Figure], console: Console | None = None) -> None:
    table = Table(title="Bench figures", show_lines=False)
    for column in ("figure", "goal", "measured", "baseline", "result"):
        table.add_column(column, justify="right" if column in ("measured", "baseline") else "left", no_wrap=True)
    for f in figures:
        verdict = "[green]PASS[/green]" if f.passed else "[bold red]MISS[/bold red]"
        table.add_row(f.name, f.goal, f.show(f.measured), f.show(f.baseline), verdict)
    (console or Console()).print(table)


def main(argv: Sequence[str] = ()) -> int:
    raise_open_files_limit()
    console = Console()
    if not console.is_terminal:  # logs and notes: never truncate the table (it is ~180 columns wide)
        console = Console(width=max(console.width, 240))
    modules = discover(argv)
    if not modules:
        console.print("no bench modules found")
        return 1
    figures: list[Figure] = []
    for name in modules:
        started = time.monotonic()
        console.print(f"[dim]running {name} ...[/dim]")
        figures += run_module(name)
        console.print(f"[dim]{name} took {time.monotonic() - started:.0f}s[/dim]")
    render(figures, console)
    return 0 if all(f.passed for f in figures) else 1
