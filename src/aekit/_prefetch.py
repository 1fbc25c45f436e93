"""Read-ahead in a background thread (:func:`prefetch`): the next batch is read while the current one trains."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator

__all__ = ["prefetch"]


def prefetch(iterable: Iterable, depth: int = 1) -> Iterator:
    """Yield the items of ``iterable``, producing up to ``depth`` ahead in a background thread.

    Reading the next batch (disk, page faults, gathering rows) overlaps with
    training on the current one. Exceptions in the producer are re-raised
    here; closing the generator early stops the producer.

    Parameters
    ----------
    iterable : iterable
        Iterated once, in a daemon thread.
    depth : int, default=1
        Items produced ahead at most; 0 or less iterates in the calling
        thread, with no read-ahead.

    Yields
    ------
    object
        The items of ``iterable``, in order.

    Examples
    --------
    >>> list(prefetch(range(4), depth=2))
    [0, 1, 2, 3]
    """
    if depth <= 0:
        yield from iterable
        return
    q: queue.Queue = queue.Queue(maxsize=depth)
    done = object()
    stop = threading.Event()

    def produce():
        try:
            for item in iterable:
                while not stop.is_set():
                    try:
                        q.put((True, item), timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            q.put((True, done))
        except BaseException as err:  # re-raised in the consumer
            q.put((False, err))

    thread = threading.Thread(target=produce, name="aekit-prefetch", daemon=True)
    thread.start()
    try:
        while True:
            ok, item = q.get()
            if not ok:
                raise item
            if item is done:
                return
            yield item
    finally:
        stop.set()
        thread.join(timeout=5)
