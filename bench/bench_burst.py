"""A workshop starting: 30 trainees open the home page at once, `ipt-course serve` against plain Voila."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import BIN, ENV, course_copy, ours_and_stock

TRAINEES = 30


def burst(port: int) -> tuple[float, float]:
    """Seconds until the first and the last of TRAINEES simultaneous page views has rendered."""
    start = time.perf_counter()

    def view(_: int) -> float:
        url = f"http://127.0.0.1:{port}/voila/render/home.ipynb"
        urllib.request.urlopen(url, timeout=600).read()
        return time.perf_counter() - start

    with ThreadPoolExecutor(max_workers=TRAINEES) as pool:
        times = sorted(pool.map(view, range(TRAINEES)))
    return times[0], times[-1]


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = course_copy(Path(tmp) / "course")
        subprocess.run(
            [str(BIN / "ipt-course"), "--root", str(root), "build"], check=True, env=ENV, capture_output=True
        )
        with ours_and_stock(root) as (ours_port, stock_port):
            first_o, last_o = burst(ours_port)
            time.sleep(5)
            first_s, last_s = burst(stock_port)
            print(
                f"{TRAINEES} home pages at once: ours first {first_o:.1f} s, last {last_o:.1f} s; "
                f"plain voila first {first_s:.1f} s, last {last_s:.1f} s; ours/stock (last) = {last_o / last_s:.2f}"
            )


if __name__ == "__main__":
    main()
