"""Waiting in browser tests for what the server does after the page has moved on."""

import time


def wait_for(condition, seconds: float = 10) -> None:
    """Poll the database until the server has stored what the page sent."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the server never stored it"
        time.sleep(0.05)
