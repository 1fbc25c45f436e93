"""A process-wide setting that blocks in several threads change at once.

Each block saving the value it found and restoring it on the way out goes
wrong when the blocks overlap: the last to end puts back a value another
block set in the middle (torch left at one thread, aekit's logger left
silenced). :class:`Overlapping` saves the value from before the first block
and restores it when the last one ends.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Any, Callable

__all__ = ["Overlapping"]


class Overlapping:
    """The setting read by ``save()`` and put back by ``restore(value)``; see the module docstring.

    Parameters
    ----------
    save : callable
        Returns the setting's current value.
    restore : callable
        Takes a value returned by ``save`` and sets it.
    """

    def __init__(self, save: Callable[[], Any], restore: Callable[[Any], None]):
        self._save, self._restore = save, restore
        self._lock = threading.Lock()
        self._users = 0
        self._saved: Any = None

    @contextmanager
    def block(self, change: Callable[[], None], undo: Callable[[], None] | None = None):
        """Run ``change()`` (under the lock), then the block; on the way out ``undo()`` (also under the lock),
        and the saved value comes back if no other block is still running."""
        with self._lock:
            if self._users == 0:
                self._saved = self._save()
            self._users += 1
            change()
        try:
            yield
        finally:
            with self._lock:
                if undo is not None:
                    undo()
                self._users -= 1
                if self._users == 0:
                    self._restore(self._saved)
