"""Trainer callbacks the estimators attach: a progress bar, a time budget, and chaining.

A callback is ``callback(trainer, epoch, logs) -> bool``, called after each
epoch; True stops training (see :class:`aekit.training.Trainer`).
"""

from __future__ import annotations

import logging
import time

__all__ = ["chain", "time_budget", "Progress"]

logger = logging.getLogger(__name__)


def chain(*callbacks):
    """One Trainer callback running each given one (None skipped); stops if any asks to."""
    callbacks = [c for c in callbacks if c is not None]
    if len(callbacks) <= 1:
        return callbacks[0] if callbacks else None

    def call(trainer, epoch, logs):
        return any([bool(c(trainer, epoch, logs)) for c in callbacks])

    return call


def time_budget(max_time, start: float):
    """A Trainer callback that stops training once ``max_time`` seconds have passed since ``start``."""
    if max_time is None:
        return None

    def stop(trainer, epoch, logs):
        elapsed = time.perf_counter() - start
        if elapsed < max_time:
            return False
        logger.info("stopping after epoch %d: %.1f s spent, max_time=%g s", epoch, elapsed, max_time)
        return True

    return stop


class Progress:
    """tqdm progress bar as a :class:`~aekit.training.Trainer` callback."""

    def __init__(self, total: int):
        from tqdm.auto import tqdm

        self.bar = tqdm(total=total, unit="epoch", dynamic_ncols=True, leave=True)

    def __call__(self, trainer, epoch, logs):
        post = {"loss": f"{logs['loss']:.4g}"}
        if logs["val_loss"] is not None:
            post["val_loss"] = f"{logs['val_loss']:.4g}"
        self.bar.set_postfix(post, refresh=False)
        self.bar.update(1)
        return False

    def close(self):
        self.bar.close()
