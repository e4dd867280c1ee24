"""A newcomer's first `make run`, measured: fresh clone to the sign-in page, and what it prints.

Clones this repository (a commit, HEAD by default) into a temporary folder, runs `make run` there
on SQLite with tasks in-process (DATABASE_URL and REDIS_URL removed from the environment, as on a
newcomer's machine), and times each line of its output until the sign-in page answers. Then it
signs in as the demo contributor bob, opens pages he may not see (403) and one that does not exist
(404), and reports whether the console showed a traceback or a broker warning, and whether any
test or benchmark package was installed. Nothing in the checkout is touched.

    python3 -m bench.first_run [--ref HEAD] [--port 8765] [--timeout 600]

It uses the pip cache the machine has, as a second clone on the same machine would. Run it with
any Python 3; it imports nothing of Flock's.
"""

import argparse
import http.cookiejar
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def dev_only_packages() -> set[str]:
    """The development packages, as pyproject.toml declares them (and pandas, which it no longer
    does), normalised the way .dist-info folder names spell them."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    names = {
        re.split(r"[\s<>=!~;\[]", spec, maxsplit=1)[0]
        for spec in project["optional-dependencies"]["dev"]
    }
    return {re.sub(r"[-_.]+", "_", name).lower() for name in names | {"pandas"}}


NOISE = {
    "traceback": re.compile(r"^Traceback \(most recent call last\)"),
    "broker warning": re.compile(r"No hostname was supplied"),
}


class Console:
    """Collects the lines a process prints, each with the second it arrived."""

    def __init__(self, stream, started: float):
        self.lines: list[tuple[float, str]] = []
        self._thread = threading.Thread(target=self._read, args=(stream, started), daemon=True)
        self._thread.start()

    def _read(self, stream, started: float) -> None:
        for raw in iter(stream.readline, b""):
            self.lines.append((time.monotonic() - started, raw.decode(errors="replace").rstrip()))

    def count(self, pattern: re.Pattern, *, since: int = 0) -> int:
        return sum(1 for _, line in self.lines[since:] if pattern.search(line))


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


def refused_pages(base: str) -> dict[str, int]:
    """Sign in as bob (a contributor) and ask for pages he may not see, and for one that is not there."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    opener.open(f"{base}/accounts/sign-in/", timeout=10).read()
    token = next(c.value for c in jar if c.name == "csrftoken")
    form = urllib.parse.urlencode(
        {"username": "bob", "password": "flock-demo", "csrfmiddlewaretoken": token}
    ).encode()
    request = urllib.request.Request(
        f"{base}/accounts/sign-in/", data=form, headers={"Referer": f"{base}/accounts/sign-in/"}
    )
    opener.open(request, timeout=10).read()
    statuses = {}
    for path in ("/exports/", "/moderation/", "/contests/", "/no-such-page/"):
        try:
            statuses[path] = opener.open(f"{base}{path}", timeout=10).status
        except urllib.error.HTTPError as error:
            statuses[path] = error.code
    return statuses


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ref", default="HEAD", help="the commit to clone (default HEAD)")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--timeout", type=float, default=600, help="seconds to wait for the page")
    parser.add_argument(
        "--no-pip-cache", action="store_true", help="download every package (PIP_NO_CACHE_DIR)"
    )
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="flock-first-run-"))
    clone = workdir / "flock"
    subprocess.run(["git", "clone", "--quiet", str(REPO), str(clone)], check=True)
    subprocess.run(["git", "-C", str(clone), "checkout", "--quiet", args.ref], check=True)
    commit = subprocess.run(
        ["git", "-C", str(clone), "rev-parse", "--short", "HEAD"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    if args.no_pip_cache:
        env["PIP_NO_CACHE_DIR"] = "1"
    base = f"http://127.0.0.1:{args.port}"
    cache = "without the pip cache" if args.no_pip_cache else "with the machine's pip cache"
    print(f"first run of {commit} in {clone}, {cache}, serving {base}")

    started = time.monotonic()
    process = subprocess.Popen(
        ["make", "run", f"PORT={args.port}"],
        cwd=clone,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    console = Console(process.stdout, started)
    ready = None
    try:
        while time.monotonic() - started < args.timeout and process.poll() is None:
            if answers(f"{base}/accounts/sign-in/"):
                ready = time.monotonic() - started
                break
            time.sleep(0.2)
        if ready is None:
            print("the sign-in page never answered; the output was:")
            print("\n".join(line for _, line in console.lines[-40:]))
            return 1
        at_ready = len(console.lines)
        statuses = refused_pages(base)
        time.sleep(1.0)  # let the server's log lines for those requests arrive
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)

    print("\nwhat `make run` printed (seconds since start):")
    for second, line in console.lines[:at_ready]:
        print(f"  {second:6.1f}  {line}")
    print(f"\nsign-in page answered after {ready:.1f} s")
    print("bob (a contributor) was answered: " + ", ".join(f"{p} {s}" for p, s in statuses.items()))
    for name, pattern in NOISE.items():
        print(
            f"{name}s printed: {console.count(pattern)} in all, "
            f"{console.count(pattern, since=at_ready)} while bob was refused"
        )
    site = next((clone / ".venv" / "lib").glob("python3*/site-packages"))
    installed = sorted(p.name for p in site.iterdir() if p.suffix == ".dist-info")
    dev_only = dev_only_packages()
    dev = [name for name in installed if name.split("-")[0].lower() in dev_only]
    print(
        f"packages installed: {len(installed)}; test or benchmark packages among them: {dev or 'none'}"
    )
    shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
