"""The people of a drive day, for locust (headless, started by `python -m bench.load`).

Each virtual user takes one seeded account, already signed in (the plan holds its session, as
company sign-in leaves one), and does what the pages make a person do, with the pages' own
requests:

- writers (most): open the categories, open one, type in bursts with an autosave after each (as
  the page saves "as you type"; its answer carries the similarity check, as the page's does),
  then submit;
- reviewers: Review next, read the entry, record a review (which hands out the next one);
- leaderboard viewers: refresh the board;
- one data scientist: the latest snapshot's description, then its data.jsonl.

Two paces (FLOCK_LOAD_MIX):
- "person" (the default): people at a person's pace. A writer thinks before starting, types the
  instruction and then the response some 25 characters between autosaves, 3 to 8 s apart (about
  4.5 characters a second, a fast typist), pastes the passage in one go, and reads the entry
  over before submitting: an entry of Dolly's length takes about two minutes. A reviewer reads
  an entry for 15 to 45 s.
- "fast": the first rounds' pace, kept to compare with them: a writer finishes an entry in about
  30 s (5 to 9 bursts 2 to 5 s apart, every field growing at once, some 25 characters a second),
  a reviewer reads for 8 to 20 s.

The shape ramps the users up in steps (FLOCK_LOAD_STEPS, FLOCK_LOAD_STEP_SECONDS); each step is
measured after its users have started, and its figures go to steps.jsonl in FLOCK_LOAD_OUT. What
the users were told was saved (every confirmed autosave, submission and review) goes to
outcome.json there when the run stops, for bench.load's checks. The run stops by itself after
the last step, after the step where the knee showed (a p99 over FLOCK_LOAD_KNEE_MS or an error),
or after FLOCK_LOAD_MAX_REQUESTS requests.
"""

import json
import os
import random
import re
import time
from pathlib import Path

import gevent
from locust import FastHttpUser, LoadTestShape, between, events, task

PLAN = json.loads(Path(os.environ["FLOCK_LOAD_PLAN"]).read_text())
OUT = Path(os.environ["FLOCK_LOAD_OUT"])
STEPS = [int(users) for users in os.environ["FLOCK_LOAD_STEPS"].split(",")]
STEP_SECONDS = float(os.environ["FLOCK_LOAD_STEP_SECONDS"])
KNEE_MS = float(os.environ.get("FLOCK_LOAD_KNEE_MS", "500"))
MAX_REQUESTS = int(os.environ.get("FLOCK_LOAD_MAX_REQUESTS", "1000000"))
# A step's users all start within its first third (at most 20 s); it is measured after that.
RAMP_SECONDS = min(20.0, STEP_SECONDS / 3)
# How fast people act: seconds between a writer's bursts of typing, a reviewer's reading, a
# viewer's refreshes. (Scaled down by FLOCK_LOAD_PACE for a quick smoke run.)
PACE = float(os.environ.get("FLOCK_LOAD_PACE", "1"))
MIX = os.environ.get("FLOCK_LOAD_MIX", "person")
if MIX not in ("person", "fast"):
    raise ValueError(f"FLOCK_LOAD_MIX is 'person' or 'fast', not {MIX!r}")
FAST = MIX == "fast"

_accounts = {role: iter(accounts) for role, accounts in PLAN["accounts"].items()}
_records = PLAN["records"]
# What the server confirmed: entry id -> the text of its last autosave answered 200, and the
# texts sent after it and not (yet) answered (a user stopped mid-request may have saved them).
confirmed: dict[int, dict] = {}
submitted: dict[int, dict] = {}
reviewed: list[tuple[int, str]] = []
stopping = [False]  # the knee showed, or the requests ran out: no next step

DRAFT_KEY = re.compile(r'name="draft_key" value="([^"]+)"')
SEEN_REVISION = re.compile(r'name="seen_revision" value="(\d+)"')
EDIT_URL = re.compile(r"/entries/(\d+)/edit/")
REVIEW_URL = re.compile(r"/review/(\d+)/$")


def pause(low: float, high: float) -> None:
    time.sleep(random.uniform(low, high) * PACE)  # gevent's sleep: locust patched time


def typing(instruction: str, context: str, response: str):
    """What the page holds at each autosave, and the pause (seconds) before it."""
    if FAST:  # every field grows at once, in 5 to 9 bursts
        bursts = random.randint(5, 9)
        for burst in range(1, bursts + 1):
            share = {
                "instruction": instruction[: len(instruction) * burst // bursts],
                "context": context[: len(context) * burst // bursts],
                "response": response[: len(response) * burst // bursts],
            }
            yield (2, 5), share
        return
    # A person: the instruction, the passage pasted in one go, then the response.
    page = {"instruction": "", "context": "", "response": ""}
    for name, text in (("instruction", instruction), ("context", context), ("response", response)):
        end = 0
        while end < len(text):
            pasted = name == "context"
            end = len(text) if pasted else min(len(text), end + random.randint(15, 35))
            page[name] = text[:end]
            yield (3, 8), dict(page)


class Person(FastHttpUser):
    abstract = True
    role = ""

    def on_start(self) -> None:
        account = next(_accounts[self.role])  # more users than seeded accounts: an error
        self.username = account["username"]
        self.csrf = account["csrf"]
        self.headers = {
            "Cookie": f"sessionid={account['session']}; csrftoken={self.csrf}",
            "X-CSRFToken": self.csrf,
        }

    def get(self, url: str, name: str, **kwargs):
        return self.client.get(url, name=name, headers=self.headers, **kwargs)

    def post(self, url: str, name: str, data: dict, **kwargs):
        data = {"csrfmiddlewaretoken": self.csrf, **data}
        return self.client.post(url, name=name, headers=self.headers, data=data, **kwargs)


class Writer(Person):
    role = "writers"
    weight = 12
    wait_time = between(2, 6) if FAST else between(10, 30)  # between entries

    @task
    def write_an_entry(self) -> None:
        slug, instruction, context, response, source_url = random.choice(_records)
        self.get("/write/", "GET /write/")
        page = self.get(f"/write/{slug}/", "GET /write/<category>/")
        key = DRAFT_KEY.search(page.text or "")
        fields = {
            "category": slug,
            "draft_key": key[1] if key else "",
            "entry": "",
            "version": "",
            "source_url": source_url,
        }
        entry_id = None
        for between_saves, typed in typing(instruction, context, response):
            pause(*between_saves)
            if entry_id:
                confirmed[entry_id]["pending"].append(typed)
            saved = self.post("/entries/autosave/", "POST /entries/autosave/", {**fields, **typed})
            if saved.status_code == 200:
                edit = EDIT_URL.search(saved.headers.get("HX-Replace-Url") or "")
                if edit:
                    entry_id = int(edit[1])
                    fields["entry"] = str(entry_id)
                    confirmed[entry_id] = {"text": typed, "pending": []}
                fields["version"] = saved.headers.get("X-Draft-Version") or fields["version"]
        pause(*((1, 3) if FAST else (5, 15)))  # reading it over
        whole = {"instruction": instruction, "context": context, "response": response}
        done = self.post(
            "/entries/submit/",
            "POST /entries/submit/",
            {**fields, **whole, "action": "submit"},
            allow_redirects=False,
        )
        if entry_id and done.status_code == 302:
            submitted[entry_id] = whole


class Reviewer(Person):
    role = "reviewers"
    weight = 5
    wait_time = between(1, 3)

    def on_start(self) -> None:
        super().on_start()
        self.next_url = ""

    @task
    def review_an_entry(self) -> None:
        if not REVIEW_URL.search(self.next_url):
            handed = self.post("/review/next/", "POST /review/next/", {}, allow_redirects=False)
            self.next_url = handed.headers.get("Location") or ""
            if not REVIEW_URL.search(self.next_url):  # nothing waiting: look again later
                pause(10, 20)
                return
        url = self.next_url
        page = self.get(url, "GET /review/<id>/")
        seen = SEEN_REVISION.search(page.text or "")
        pause(*((8, 20) if FAST else (15, 45)))  # reading
        approve = random.random() < 0.8
        recorded = self.post(
            url,
            "POST /review/<id>/",
            {
                "seen_revision": seen[1] if seen else "",
                "verdict": "approve" if approve else "reject",
                "rating": str(random.randint(3, 5) if approve else random.randint(1, 2)),
                **({} if approve else {"reasons": "unclear_instruction"}),
                "comment": "",
            },
            allow_redirects=False,
        )
        if recorded.status_code == 302:
            reviewed.append((int(REVIEW_URL.search(url)[1]), self.username))
            self.next_url = recorded.headers.get("Location") or ""
        else:
            self.next_url = ""


class Viewer(Person):
    role = "viewers"
    weight = 3
    wait_time = between(10, 20)

    @task
    def refresh_the_board(self) -> None:
        self.get("/leaderboard/", "GET /leaderboard/")


class DataScientist(Person):
    role = "data_scientists"
    fixed_count = 1
    wait_time = between(20, 40)

    @task
    def download_the_latest(self) -> None:
        latest = self.get("/api/v1/snapshots/latest/", "GET /api/v1/snapshots/latest/")
        if latest.status_code == 200:
            snapshot = latest.json()
            self.get(
                f"/api/v1/snapshots/{snapshot['id']}/files/data.jsonl",
                "GET /api/v1/snapshots/<id>/files/data.jsonl",
            )


class Steps(LoadTestShape):
    def tick(self):
        step = int(self.get_run_time() // STEP_SECONDS)
        if step >= len(STEPS) or stopping[0]:
            return None
        added = STEPS[step] - (STEPS[step - 1] if step else 0)
        return STEPS[step], max(1.0, abs(added) / RAMP_SECONDS)


def _entries(environment, seconds: float) -> list[dict]:
    rows = []
    for (name, method), entry in sorted(environment.stats.entries.items()):
        if not entry.num_requests:
            continue
        rows.append(
            {
                "name": name,
                "method": method,
                "requests": entry.num_requests,
                "failures": entry.num_failures,
                "rps": entry.num_requests / seconds,
                "p50": entry.get_response_time_percentile(0.50),
                "p95": entry.get_response_time_percentile(0.95),
                "p99": entry.get_response_time_percentile(0.99),
                "max": entry.max_response_time,
            }
        )
    return rows


def _measure(environment) -> None:
    """Each step: wait for its users to start, reset the figures, and write them at its end."""
    started = time.monotonic()
    total = 0
    for number, users in enumerate(STEPS):
        step_start = started + number * STEP_SECONDS
        gevent.sleep(max(0.0, step_start + RAMP_SECONDS - time.monotonic()))
        environment.stats.reset_all()
        measured_from, wall_from = time.monotonic(), time.time()
        gevent.sleep(max(0.0, step_start + STEP_SECONDS - 0.5 - time.monotonic()))
        seconds = time.monotonic() - measured_from
        rows = _entries(environment, seconds)
        errors = [
            {
                "name": error.name,
                "method": error.method,
                "error": str(error.error)[:300],
                "count": error.occurrences,
            }
            for error in environment.stats.errors.values()
        ]
        step = {
            "users": users,
            "running": environment.runner.user_count,
            "seconds": seconds,
            "window": [wall_from, time.time()],  # for the orchestrator's CPU samples
            "endpoints": rows,
            "errors": errors,
        }
        with open(OUT / "steps.jsonl", "a") as handle:
            handle.write(json.dumps(step) + "\n")
        total += sum(row["requests"] for row in rows)
        knee = errors or any(row["p99"] > KNEE_MS for row in rows)
        if knee or total >= MAX_REQUESTS:
            stopping[0] = True
            return


@events.test_start.add_listener
def _start(environment, **_kwargs) -> None:
    gevent.spawn(_measure, environment)


@events.test_stop.add_listener
def _stop(environment, **_kwargs) -> None:
    (OUT / "outcome.json").write_text(
        json.dumps(
            {
                "confirmed": confirmed,
                "submitted": submitted,
                "reviewed": reviewed,
            }
        )
    )
