"""Page load: a module page from `ipt-course serve` against plain Voila rendering the same notebook."""

from __future__ import annotations

import http.cookiejar
import subprocess
import sys
import tempfile
import urllib.parse
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import BIN, ENV, course_copy, ours_and_stock, report, timed

REPEAT = 5


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = course_copy(Path(tmp) / "course")
        subprocess.run(
            [str(BIN / "ipt-course"), "--root", str(root), "build"], check=True, env=ENV, capture_output=True
        )
        subprocess.run(
            [str(BIN / "ipt-course"), "--root", str(root), "workshop"], check=True, env=ENV, capture_output=True
        )
        from ipt_course.identity import ENV_VIEWER, Viewer
        from ipt_course.paths import Project
        from ipt_course.workshop import read_roster

        project = Project(root)
        entry = read_roster(project.roster_csv)[0]
        # Plain Voila has no sign-in: its kernels learn the viewer from the environment they inherit, as ours
        # learn it from the server, so both render the same page for the same trainee.
        ENV[ENV_VIEWER] = Viewer(entry.trainee_id, "trainee", entry.name).to_env()[ENV_VIEWER]
        page = "voila/render/modules/01-depression-ipt-my-role/module.ipynb"

        with ours_and_stock(root) as (ours_port, stock_port):
            ours = sign_in(ours_port, entry.trainee_id, entry.pin)
            stock = urllib.request.build_opener()
            for name, path in (("home page", "voila/render/home.ipynb"), ("module page", page)):

                def get(port: int, path: str = path) -> None:
                    opener = ours if port == ours_port else stock
                    opener.open(f"http://127.0.0.1:{port}/{path}", timeout=120).read()

                get(ours_port), get(stock_port)  # warm the disk cache once for each
                ours_t = timed(lambda: get(ours_port), REPEAT)
                stock_t = timed(lambda: get(stock_port), REPEAT)
                report(f"{name} (GET until rendered)", ours_t, stock_t, "plain voila")


def sign_in(port: int, trainee_id: str, pin: str) -> urllib.request.OpenerDirector:
    """A client with our session cookie, signed in through the sign-in form."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    opener.open(f"http://127.0.0.1:{port}/login", timeout=30).read()
    xsrf = next(c.value for c in jar if c.name == "_xsrf")
    form = urllib.parse.urlencode({"trainee": trainee_id, "pin": pin, "_xsrf": xsrf}).encode()
    opener.open(f"http://127.0.0.1:{port}/login", data=form, timeout=60).read()
    return opener


if __name__ == "__main__":
    main()
