"""torch's process-wide settings that aekit changes for a while: the global random generator and the thread count.

Both are shared by every thread of the process. Two threads seeding the
global generator at once (two estimators fitted in a thread pool,
``GridSearchCV`` under joblib's threading backend) draw from each other's
seeds, and :func:`torch.random.fork_rng`'s restore on the way out puts back
whichever state it saved, not the caller's; two threads each setting and
restoring the thread count leave it at the value one of them saw in the
middle. :func:`seeded` and :func:`num_threads` change them under a lock and
put back what the caller had.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager

import torch

from ._overlapping import Overlapping

__all__ = ["num_threads", "seeded"]

_RNG_LOCK = threading.RLock()
_THREADS = Overlapping(torch.get_num_threads, torch.set_num_threads)


@contextmanager
def seeded(seed: int = 0):
    """Run the block with torch's global generator seeded with ``seed``, then put the caller's state back.

    Held under a process-wide lock: a block in another thread waits, so its
    draws and its restore do not interleave with this one's.
    """
    with _RNG_LOCK, torch.random.fork_rng(devices=[]):
        # the CPU generator alone (networks are built on the CPU): torch.manual_seed would also reseed every
        # CUDA generator, which fork_rng(devices=[]) does not put back
        torch.default_generator.manual_seed(int(seed))
        yield


@contextmanager
def num_threads(n: int):
    """Run the block with ``torch.set_num_threads(n)``; the count from before the first of the overlapping
    blocks (in any thread) comes back when the last one ends."""
    with _THREADS.block(lambda: torch.set_num_threads(int(n))):
        yield
