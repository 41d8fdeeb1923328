"""The `eda` process ends without Python's module teardown (app.exit_now), and loses nothing by it.

Each case runs a real process: what the interpreter would have finished before exiting (output in buffers,
atexit handlers, non-daemon threads, the exit code) must be there exactly as with an ordinary exit
(EDA_FULL_EXIT=1), which is what every case compares against.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _run(args: list[str], *, full: bool = False, **kwargs: object) -> subprocess.CompletedProcess[str]:
    # PYTHONUNBUFFERED off: the standard streams buffer, as they do for users (this machine's environment sets it)
    env = {k: v for k, v in os.environ.items() if k not in {"EDA_FULL_EXIT", "PYTHONUNBUFFERED"}}
    if full:
        env["EDA_FULL_EXIT"] = "1"
    return subprocess.run(args, capture_output=True, text=True, timeout=120, env=env, cwd=ROOT,  # type: ignore[call-overload]
                          **kwargs)


@pytest.mark.parametrize("args, code", [
    (["completion", "bash"], 0),  # a long output through a pipe: every byte flushed
    (["dlq", "inspect", "--no-such-option"], 2),  # a usage error: its code and its message on stderr
    (["--output", "json", "redrive", "replay", "/nonexistent/archive.jsonl"], 2),
])
def test_output_and_exit_code_are_those_of_an_ordinary_exit(args: list[str], code: int) -> None:
    fast = _run([sys.executable, "-m", "eda_cli", *args])
    full = _run([sys.executable, "-m", "eda_cli", *args], full=True)
    assert (fast.returncode, full.returncode) == (code, code)
    assert fast.stdout == full.stdout
    assert fast.stderr == full.stderr
    assert fast.stdout or fast.stderr


def test_atexit_handlers_and_non_daemon_threads_finish_first(tmp_path: Path) -> None:
    marker = tmp_path / "marks.txt"
    script = textwrap.dedent(f"""
        import atexit, sys, threading, time
        from concurrent.futures import ThreadPoolExecutor

        def mark(text):
            with open({str(marker)!r}, "a") as f:
                f.write(text + "\\n")

        atexit.register(mark, "atexit")
        threading.Thread(target=lambda: (time.sleep(0.3), mark("thread"))).start()
        ThreadPoolExecutor(2).submit(time.sleep, 0.01)  # idle workers: told to stop, not waited for forever
        sys.argv = ["eda", "--version"]
        from eda_cli.app import main
        main()
    """)
    result = _run([sys.executable, "-c", script])
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip()  # the version line
    assert marker.read_text().splitlines() == ["thread", "atexit"]


def test_a_reader_that_leaves_early_ends_it_as_an_ordinary_exit_would() -> None:
    codes = []
    for full in (False, True):
        shell = f"{sys.executable} -m eda_cli completion zsh | head -c 10 >/dev/null; echo ${{PIPESTATUS[0]}}"
        result = _run(["bash", "-c", shell], full=full)
        assert "Traceback" not in result.stderr and "Exception ignored" not in result.stderr
        codes.append(result.stdout.strip())
    assert codes[0] == codes[1]


def test_ordinary_exit_under_coverage_or_dev_mode() -> None:
    """-X dev: the interpreter's own exit (its checks at teardown are the point of dev mode)."""
    result = _run([sys.executable, "-X", "dev", "-c",
                   "import os, sys; sys.argv = ['eda', '--version']; from eda_cli import app; "
                   "os._exit = lambda code: (_ for _ in ()).throw(AssertionError('os._exit called')); app.main()"])
    assert result.returncode == 0, result.stderr


def test_what_is_still_in_the_standard_streams_buffers_is_written() -> None:
    script = ("import sys; sys.stdout.write('o' * 100000); sys.stderr.write('e' * 1000); "
              "from eda_cli.app import exit_now; exit_now(3)")
    result = _run([sys.executable, "-c", script])
    assert (result.returncode, len(result.stdout), len(result.stderr)) == (3, 100000, 1000)
