"""Where the machine's CPU went during a step: gunicorn, the Celery worker, PostgreSQL, Redis and
locust itself, each a process tree, sampled from /proc once a second.

A tree's CPU is its processes' user + system time, with what their exited children used (the
kernel adds a reaped child's time to its parent's): PostgreSQL's backends that come and go with
each connection still count, through the postmaster.
"""

import os
import threading
import time

TICK = os.sysconf("SC_CLK_TCK")


def processes() -> dict[int, tuple[int, str, float]]:
    """pid -> (parent pid, command name, CPU seconds with its reaped children's)."""
    found = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as handle:
                stat = handle.read()
        except OSError:  # gone meanwhile
            continue
        command = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        ticks = sum(int(value) for value in fields[11:15])  # utime stime cutime cstime
        found[int(name)] = (int(fields[1]), command, ticks / TICK)
    return found


def roots_by_name(processes: dict, command: str) -> list[int]:
    """The processes named `command` whose parent is not (a postmaster, a redis-server)."""
    return [
        pid
        for pid, (parent, name, _cpu) in processes.items()
        if name == command and processes.get(parent, (0, "", 0))[1] != command
    ]


class CpuSampler(threading.Thread):
    """Samples the CPU seconds of each named process tree every second until stopped."""

    def __init__(self, roots: dict[str, list[int]]):
        super().__init__(name="cpu-sampler", daemon=True)
        self.roots = roots
        self.samples: list[tuple[float, dict[str, float]]] = []
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.is_set():
            self.samples.append((time.time(), self.totals()))
            time.sleep(1)

    def stop(self) -> None:
        self.stopped.set()
        self.join()

    def totals(self) -> dict[str, float]:
        found = processes()
        children: dict[int, list[int]] = {}
        for pid, (parent, _name, _cpu) in found.items():
            children.setdefault(parent, []).append(pid)
        totals = {}
        for group, roots in self.roots.items():
            seconds, stack = 0.0, [pid for pid in roots if pid in found]
            while stack:
                pid = stack.pop()
                seconds += found[pid][2]
                stack.extend(children.get(pid, []))
            totals[group] = seconds
        return totals

    def cores_busy(self, start: float, end: float) -> dict[str, float]:
        """Each group's CPU seconds per wall second between two moments (the samples nearest
        inside them)."""
        inside = [sample for sample in self.samples if start <= sample[0] <= end]
        if len(inside) < 2:
            return {}
        (t0, first), (t1, last) = inside[0], inside[-1]
        return {group: (last[group] - first.get(group, 0.0)) / (t1 - t0) for group in last}


def host_speed(rounds: int = 5) -> float:
    """Milliseconds a fixed piece of pure Python takes on one core, the best of `rounds`: this
    virtual machine's CPU speed drifts (within a session, the same code took 50% longer an hour
    later), so a run prints it before and after, and runs are compared at like speeds."""
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        table: dict[int, int] = {}
        for number in range(300_000):
            table[number % 1_000] = table.get(number % 1_000, 0) + number
        best = min(best, time.perf_counter() - started)
    return best * 1000
