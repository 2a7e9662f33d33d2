"""``baton serve`` logs a line per request by default, and none with ``--no-access-log``."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from bench_server import BatonServer

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("flag", [(), ("--no-access-log",)])
def test_the_access_log_is_on_by_default_and_can_be_turned_off(tmp_path: Path, flag: tuple[str, ...]) -> None:
    server = BatonServer(tmp_path / "data", serve_args=flag).start(120)
    try:
        answered = httpx.get(server.url + "/healthz?probe=access-log", timeout=10)
        assert answered.status_code == 200
    finally:
        server.stop()
    text = server.log_path.read_text(errors="replace")
    assert "Application startup complete" in text  # the server's own lines are logged either way
    logged = '"GET /healthz?probe=access-log HTTP/1.1" 200' in text
    assert logged is not bool(flag)
