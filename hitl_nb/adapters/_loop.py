"""One private asyncio loop, in a daemon thread, for the adapters' async frameworks.

A notebook cell already runs inside IPykernel's event loop, so `asyncio.run` and the
frameworks' `run_sync` helpers refuse to run there. The adapters run agents on this
loop instead: the calling thread waits only while the agent computes, never while a
person decides (a paused run is parked on this loop, see `adapters.autogen`). One
loop for all runs keeps clients that bind to a loop (httpx pools) valid across runs.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None
_thread: threading.Thread | None = None


def loop() -> asyncio.AbstractEventLoop:
    """The adapters' loop, started on first use."""
    global _loop, _thread
    with _lock:
        if _loop is None or _thread is None or not _thread.is_alive():
            _loop = asyncio.new_event_loop()
            _thread = threading.Thread(target=_loop.run_forever, name="hitl_nb-adapters",
                                       daemon=True)
            _thread.start()
        return _loop


def inside() -> bool:
    """True in code the adapters' loop is running (it cannot wait on another run)."""
    return threading.current_thread() is _thread


def submit(coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
    """Schedule `coro` on the adapters' loop; returns at once."""
    if inside():
        coro.close()
        raise RuntimeError("hitl_nb adapters cannot start a run from inside another adapter "
                           "run (it would wait on itself); call review() from the notebook.")
    return asyncio.run_coroutine_threadsafe(coro, loop())


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run `coro` on the adapters' loop and wait for its result.

    >>> run(agent_run())       # from a notebook cell, where asyncio.run() would refuse
    """
    future = submit(coro)
    try:
        return future.result()
    except BaseException:
        # e.g. KeyboardInterrupt in the notebook: stop the agent too, then re-raise
        future.cancel()
        raise
