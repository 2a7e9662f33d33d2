"""The analysis threads are daemons: a reading that never ends does not keep a stopping process alive."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from graph.analysis_pool import DaemonPool

ROOT = Path(__file__).resolve().parent.parent


def test_calls_return_their_results_and_exceptions_in_the_pools_threads() -> None:
    started: list[str] = []
    pool = DaemonPool(2, "reader", initializer=lambda: started.append(threading.current_thread().name))
    assert pool.submit(lambda a, b: a + b, 2, b=3).result(5) == 5
    failed = pool.submit(int, "not a number")
    with pytest.raises(ValueError, match="not a number"):
        failed.result(5)
    where = pool.submit(lambda: (threading.current_thread().name, threading.current_thread().daemon))
    name, daemon = where.result(5)
    assert name.startswith("reader_")
    assert daemon
    pool.shutdown()
    assert sorted(started) == ["reader_0", "reader_1"]  # the initializer ran once in each thread
    with pytest.raises(RuntimeError, match="after shutdown"):
        pool.submit(int, "1")


def test_shutdown_can_cancel_what_is_still_queued() -> None:
    pool = DaemonPool(1, "reader")
    release = threading.Event()
    busy = pool.submit(release.wait, 5)
    queued = [pool.submit(int, "1") for _ in range(3)]
    time.sleep(0.05)
    closing = threading.Thread(target=pool.shutdown, kwargs={"cancel_futures": True})
    closing.start()
    release.set()
    closing.join(5)
    assert busy.result(1) is True
    assert all(f.cancelled() for f in queued)


def test_a_reading_that_never_ends_does_not_keep_the_process_from_exiting() -> None:
    # With concurrent.futures' ThreadPoolExecutor the interpreter joins its threads at exit: for ever.
    script = textwrap.dedent(
        """
        import asyncio, time
        from graph.textutil import off_loop

        def spin() -> None:
            while True:
                time.sleep(0.01)

        async def main() -> None:
            task = asyncio.ensure_future(off_loop(spin))
            await asyncio.sleep(0.2)
            task.cancel()
            print("leaving", flush=True)

        asyncio.run(main())
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "leaving"
