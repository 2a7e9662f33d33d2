"""numpy's BLAS held to one thread in a serving worker, and whether it is.

A worker already parallelises across requests (the event loop, the analysis threads, ``--workers``);
OpenBLAS threads on top of that contend for the same cores, and they spin between calls: parses through
numpy's BLAS doubled the process's CPU with OpenBLAS's default threads on 2 cores. Held to one thread,
the same parses cost 10-13% less than through BLIS (``benchmarks/language_cpu.py``), whose wheel has no
kernels for some current CPUs (AMD Zen 4 gets its generic C ones).
"""

from __future__ import annotations

import threadpoolctl
from threadpoolctl import threadpool_info, threadpool_limits


def hold_to_one_thread() -> bool:
    """Limit every BLAS loaded in this process to one thread, for the life of the process.

    Returns:
        Whether every BLAS now runs one thread (False when none is loaded).
    """
    if not _blas_pools():
        return False
    # OpenBLAS (pthreads) has one pool per process, so threadpoolctl lets only the first thread that
    # limited it change it again and silently ignores the others. A worker's start-up decides, from
    # whichever thread it runs on.
    clear = getattr(getattr(threadpoolctl, "OpenBLASController", None), "clear_controlling_thread", None)
    if clear is not None:
        clear(force=True)
    threadpool_limits(limits=1, user_api="blas")  # process-wide until changed; not restored
    return single_threaded()


def single_threaded() -> bool:
    """Whether a BLAS is loaded and every BLAS in the process runs on one thread."""
    pools = _blas_pools()
    return bool(pools) and all(pool["num_threads"] == 1 for pool in pools)


def _blas_pools() -> list[dict[str, object]]:
    import numpy  # noqa: F401  (threadpoolctl only sees the BLAS of libraries already loaded)

    return [pool for pool in threadpool_info() if pool.get("user_api") == "blas"]
