"""Helpers shared by the benchmarks: a throwaway course copy, free ports, timing, and a server that waits."""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ipt_course._ports import free_port

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
ENV = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}


def course_copy(target: Path) -> Path:
    """A copy of the course content and nbgrader config, with no runtime state."""
    for name in ("course", "modules", "simulations", "data/synthetic"):
        shutil.copytree(REPO / name, target / name)
    (target / "grading").mkdir(parents=True)
    shutil.copy2(REPO / "grading" / "nbgrader_config.py", target / "grading")
    return target


def ours_env() -> dict[str, str]:
    """The environment our commands run in: this checkout, or the one $IPT_BENCH_SRC names (for before/after)."""
    env = dict(ENV)
    if os.environ.get("IPT_BENCH_SRC"):
        env["PYTHONPATH"] = os.environ["IPT_BENCH_SRC"]
    return env


def ours_cli(root: Path, *args: str) -> None:
    """Run `ipt-course --root <root> <args>` from the checkout being measured; quiet unless it fails."""
    subprocess.run(
        [str(BIN / "python"), "-m", "ipt_course.cli", "--root", str(root), *args],
        check=True,
        env=ours_env(),
        capture_output=True,
    )


def built_course(target: Path, roster_size: int = 0) -> Path:
    """A course copy, built, with a workshop roster (the demo one, or `roster_size` synthetic trainees)."""
    root = course_copy(target)
    ours_cli(root, "build")
    if roster_size:
        rows = ["trainee_id,name,pin"] + [f"t{n:02d},Trainee {n:02d},{1000 + n * 7}" for n in range(1, roster_size + 1)]
        (root / "roster.csv").write_text("\n".join(rows) + "\n")
        ours_cli(root, "workshop", "--roster", str(root / "roster.csv"))
    else:
        ours_cli(root, "workshop")
    return root


def roster_rows(root: Path) -> list[tuple[str, str, str]]:
    """(trainee_id, name, pin) of the workshop roster the course copy serves."""
    import csv

    with (root / "workshop" / "roster.csv").open() as handle:
        return [(r["trainee_id"], r["name"], r["pin"]) for r in csv.DictReader(handle)]


def wait_for(url: str, proc: subprocess.Popen[bytes], seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer in {seconds} s")


def wait_pool(base: str, seconds: float = 600) -> None:
    """Wait until our server's preheated pool is full (the trainer is still setting up); at once for a server
    without one (the code before the pool, or plain Voila)."""
    import json

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{base}/ipt/status", timeout=30) as answer:
                now = json.loads(answer.read())
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return
        if now["pooled"] >= now["pool_target"] and now["pool"] == now["pooled"]:
            time.sleep(2)  # the last kernels' imports settle
            return
        time.sleep(1)
    raise RuntimeError(f"{base}: the pool did not fill in {seconds} s")


def timed(action: Callable[[], object], repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return times


def report(name: str, ours: list[float], stock: list[float], stock_name: str) -> None:
    o, s = statistics.median(ours), statistics.median(stock)
    print(f"{name}: ours {o:.3f} s, {stock_name} {s:.3f} s (median of {len(ours)}); ours/stock = {o / s:.2f}")


def server_log() -> Any:
    """Where our server's log goes: the file $IPT_BENCH_SERVER_LOG names (to read why a page failed), else nowhere."""
    path = os.environ.get("IPT_BENCH_SERVER_LOG")
    return open(path, "ab") if path else subprocess.DEVNULL  # the server holds it open


@contextmanager
def ours_and_stock(
    root: Path, stock_site: Path | None = None, serve_args: tuple[str, ...] = ()
) -> Iterator[tuple[int, int]]:
    """`ipt-course serve` and plain `voila` (on the same built site, or on `stock_site`) side by side; their ports.

    $IPT_BENCH_SRC runs our server from another checkout (the code before a change), for before/after figures.
    """
    ours_port, stock_port = free_port(), free_port()
    ours = subprocess.Popen(
        [
            str(BIN / "python"),
            "-m",
            "ipt_course.cli",
            "--root",
            str(root),
            "serve",
            "--port",
            str(ours_port),
            *serve_args,
        ],
        env=ours_env(),
        stdout=subprocess.DEVNULL,
        stderr=server_log(),
    )
    stock = subprocess.Popen(
        [str(BIN / "voila"), str(stock_site or root / "build" / "site"), f"--port={stock_port}", "--no-browser"],
        env={**ENV, "IPT_COURSE_HOME": str(root), "IPT_COURSE_CONTENT": str(root / "build" / "content")},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(f"http://127.0.0.1:{ours_port}/voila/static/voila.js", ours)
        wait_for(f"http://127.0.0.1:{stock_port}/voila/static/voila.js", stock)
        wait_pool(f"http://127.0.0.1:{ours_port}")
        yield ours_port, stock_port
    finally:
        for proc in (ours, stock):
            proc.terminate()
            proc.wait(timeout=60)
