"""tests/fixtures/servers.py's ServerProcess, which every server the tests start goes through."""

from __future__ import annotations

import socket
import sys

import pytest

from tests.fixtures.servers import ServerProcess, free_port


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def test_a_server_that_dies_first_fails_with_its_stderr() -> None:
    server = ServerProcess("the broken server", [sys.executable, "-c", "import sys; sys.exit('no such backend')"],
                           ready_port=free_port())
    with pytest.raises(RuntimeError) as raised:
        server.start()
    assert "the broken server exited with 1 before it answered" in str(raised.value)
    assert "no such backend" in str(raised.value)


def test_a_server_that_never_answers_fails_in_time_and_is_stopped() -> None:
    port = free_port()
    server = ServerProcess("the silent server", [sys.executable, "-c", "import sys, time; print('starting', "
                                                 "file=sys.stderr, flush=True); time.sleep(60)"],
                           ready_port=port, timeout=1)
    with pytest.raises(RuntimeError) as raised:
        server.start()
    assert f"the silent server did not answer on port {port} within 1 s" in str(raised.value)
    assert "starting" in str(raised.value)
    assert server.process.returncode is not None  # not left running


@pytest.mark.parametrize("process_group", [False, True])
def test_it_waits_for_a_url_or_a_port_and_stops_the_server(process_group: bool) -> None:
    port = free_port()
    command = [sys.executable, "-m", "http.server", "--bind", "127.0.0.1", str(port)]
    ready = {"ready_port": port} if process_group else {"ready_url": f"http://127.0.0.1:{port}/"}
    with ServerProcess("http.server", command, process_group=process_group, **ready) as server:
        assert _listening(port)
    assert server.process.returncode is not None and not _listening(port)
