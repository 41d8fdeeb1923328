"""`eda watch` on a real terminal: under tmux, against the seeded demo pipeline, a person's keys (/ filter,
p peek, q quit, Ctrl-C) and what the screen shows; then that eda exited (0, 130) and left the terminal as it
found it."""

from __future__ import annotations

import os
import shlex
import sys
from collections.abc import Iterator

import pytest

from tests.fixtures.seeded import Seeded
from tests.fixtures.tmux import Tmux


@pytest.fixture
def tmux() -> Iterator[Tmux]:
    terminal = Tmux(160, 50)
    try:
        yield terminal
    finally:
        terminal.close()


def test_filter_peek_and_quit_on_the_board(seeded: Seeded, tmux: Tmux) -> None:
    env = {"AWS_ACCESS_KEY_ID": seeded.access_key, "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": "us-east-1",
           "AWS_CONFIG_FILE": os.environ["AWS_CONFIG_FILE"],
           "AWS_SHARED_CREDENTIALS_FILE": os.environ["AWS_SHARED_CREDENTIALS_FILE"],
           "AWS_EC2_METADATA_DISABLED": "true", "PYTHONPATH": os.pathsep.join(sys.path)}
    eda = " ".join(shlex.quote(a) for a in (sys.executable, "-m", "eda_cli", "--endpoint-url", seeded.url,
                                             "watch", "--interval", "2"))
    assignments = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
    modes = "stty -a | tr ' ;' '\\n\\n' | grep -xE -- '-?(icanon|echo)' | tr '\\n' ' '"
    # eda twice: quit with q, then with Ctrl-C; after each, its exit code and the terminal modes it must have
    # put back (cbreak turns icanon and echo off).
    tmux.start(f"env {assignments} {eda}; echo EXIT=$? $({modes}); "
               f"env {assignments} {eda} --filter payments; echo EXIT=$? $({modes}); sleep 30")

    board = tmux.wait_screen(lambda s: "notify-lambda-dlq" in s and "payments-dlq" in s, "the board")
    assert "API calls" in board and "DLQs" in board and "q quit" in board

    tmux.keys("/")
    tmux.wait_screen(lambda s: "filter: /" in s, "the filter line")
    tmux.keys("n", "o", "t", "i", "f", "y", "Enter")
    narrowed = tmux.wait_screen(lambda s: "filter 'notify'" in s and "payments-dlq" not in s, "the filter")
    row = next(line for line in narrowed.splitlines() if "notify-lambda-dlq" in line)
    assert ">" in row and "ALARM" in row  # selected, and its depth alarm

    tmux.keys("p")
    peeked = tmux.wait_screen(lambda s: "grouped by error" in s and "Task timed out" in s, "the peek panel")
    assert "peek notify-lambda-dlq" in peeked and "none consumed" in peeked
    assert "error: " in peeked and "KeyError: 'email'" in peeked  # its error groups, each named

    tmux.keys("q")
    after = tmux.wait_screen(lambda s: "EXIT=" in s, "eda to exit")
    assert "EXIT=0 icanon echo" in after and "notify-lambda-dlq" not in after, after  # the board's screen is gone

    tmux.wait_screen(lambda s: "payments-dlq" in s and "filter 'payments'" in s, "the second board")
    tmux.keys("C-c")
    after = tmux.wait_screen(lambda s: s.count("EXIT=") == 2, "eda to stop on Ctrl-C")
    assert "EXIT=130 icanon echo" in after, after
