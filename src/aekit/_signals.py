"""Handlers for the signals that stop a run (Ctrl-C, a batch scheduler's SIGTERM, Slurm's SIGUSR1), given back after.

The command line turns SIGTERM/SIGUSR1 into an exception (:func:`aekit.cli.main`), a checkpointed fit records
them to stop at an epoch end (:mod:`aekit.checkpoint`); both install handlers the same way: from the main
thread only (Python allows no other), for the signals this platform has (Windows has no SIGUSR1), and put
back what was there, the default where Python had none.
"""

from __future__ import annotations

import signal
import threading
from typing import Callable

__all__ = ["install", "restore"]


def install(handler: Callable, names: tuple[str, ...]) -> dict:
    """Set ``handler`` for each signal in ``names`` this platform has; returns what was there before (empty
    outside the main thread, where nothing is set)."""
    if threading.current_thread() is not threading.main_thread():
        return {}
    return {s: signal.signal(s, handler) for s in (getattr(signal, n) for n in names if hasattr(signal, n))}


def restore(previous: dict) -> None:
    """Put back the handlers :func:`install` returned."""
    for s, handler in previous.items():
        signal.signal(s, signal.SIG_DFL if handler is None else handler)
