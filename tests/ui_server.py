"""A real Baton server process for the browser tests: uvicorn on a free port, private data dir.

``python -m uvicorn --factory tests.ui_server:create_ui_app`` serves the app of ``api.app`` plus the
page and policy-admin routers (added here only when the app does not include them already), offline,
on a copy of a shipped policy so publishing from the editor never touches the repository.
"""

from __future__ import annotations

import io
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import FastAPI

ROOT = Path(__file__).resolve().parent.parent
ADMIN_TOKEN = "adm_ui-tests-admin-token"
# Tests write the README's screenshots to test-artifacts/ so a test run leaves the checkout as it
# was; `make screenshots` (BATON_README_SHOTS=1) writes them over docs/screenshots/ to commit.
README_SHOTS = ROOT / "docs" / "screenshots"


def readme_shot(page: Any, name: str) -> Path:
    """A README screenshot, quantized to a palette so it stays small in git; returns where it went."""
    from PIL import Image

    asked = os.environ.get("BATON_README_SHOTS") == "1"
    folder = README_SHOTS if asked else ROOT / "test-artifacts" / "ui" / "readme"
    folder.mkdir(parents=True, exist_ok=True)
    png = folder / name
    page.evaluate("window.scrollTo(0, 0)")
    Image.open(io.BytesIO(page.screenshot(type="png"))).convert("RGB").quantize(256).save(png, optimize=True)
    assert png.stat().st_size < 150_000
    return png


def create_ui_app() -> FastAPI:
    """``api.app.create_app()`` with the pages and the policy admin routes mounted."""
    from api import pages, policy_admin
    from api.app import create_app

    app = create_app()
    paths = {getattr(route, "path", "") for route in app.routes}
    if "/widget" not in paths:
        app.include_router(pages.router)
    if "/v1/policies/{name}/publish" not in paths:
        app.include_router(policy_admin.router)
    return app


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(frozen=True)
class UiServer:
    """A running server: its base URL, admin token, data dir and the policy file it edits."""

    url: str
    admin_token: str
    data_dir: Path
    policy: Path
    log: Path


def _wait_ready(url: str, proc: subprocess.Popen[bytes], log: Path, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            msg = f"baton exited with {proc.returncode}:\n{log.read_text(errors='replace')[-4000:]}"
            raise RuntimeError(msg)
        try:
            with urllib.request.urlopen(f"{url}/readyz", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.25)
    msg = f"baton did not become ready in {timeout_s:.0f}s:\n{log.read_text(errors='replace')[-4000:]}"
    raise RuntimeError(msg)


@contextmanager
def run_server(
    tmp: Path, policy: str = "real_estate.yaml", timeout_s: float = 90.0, env: dict[str, str] | None = None
) -> Iterator[UiServer]:
    """Start Baton (offline model, in-process desk, SQLite in ``tmp``) and stop it afterwards."""
    tmp.mkdir(parents=True, exist_ok=True)
    policy_file = tmp / policy
    shutil.copy(ROOT / "policies" / policy, policy_file)
    data_dir = tmp / "data"
    port = free_port()
    extra = env
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BATON_", "OPENAI_"))}
    env.update(
        BATON_DATA_DIR=str(data_dir),
        BATON_ADMIN_TOKEN=ADMIN_TOKEN,
        BATON_OFFLINE="true",
        BATON_POLICY=str(policy_file),
        BATON_DESK_TICK_S="0.5",
        BATON_WS_PING_S="5",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra or {})
    log = tmp / "server.log"
    cmd = [
        sys.executable, "-m", "uvicorn", "--factory", "tests.ui_server:create_ui_app",
        "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
    ]  # fmt: skip
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(url, proc, log, timeout_s)
        yield UiServer(url=url, admin_token=ADMIN_TOKEN, data_dir=data_dir, policy=policy_file, log=log)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


if __name__ == "__main__":  # manual use: python tests/ui_server.py -> prints the URL and waits
    import tempfile

    sys.path.insert(0, str(ROOT))
    with tempfile.TemporaryDirectory() as d, run_server(Path(d)) as server:
        print(f"{server.url}  admin token: {server.admin_token}", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
