"""Training within a wall-clock budget: a :class:`~aekit.training.Trainer` callback."""

from __future__ import annotations

import logging
import math
import time

__all__ = ["WallClockBudget"]

logger = logging.getLogger(__name__)


class WallClockBudget:
    """Trainer callback that ends training within a wall-clock budget.

    After each epoch it stops training if another epoch as long as the
    longest of the last three would overrun the budget, and, when
    ``anneal`` is true, sets the learning rate to
    ``peak * (1 + cos(pi * elapsed / budget)) / 2``. The clock starts with
    :meth:`start` (the estimator calls it when ``fit`` begins, so
    pretraining counts). Progress is logged at INFO level about every
    ``log_every`` seconds, every epoch at DEBUG level.

    Parameters
    ----------
    seconds : float
        The budget in seconds, > 0.
    anneal : bool, default=True
        Anneal the learning rate over the budget (from the trainer's
        ``learning_rate`` down to 0, cosine-shaped).
    log_every : float, default=30.0
        Seconds between INFO progress lines.

    Raises
    ------
    ValueError
        If ``seconds`` is not > 0.
    """

    def __init__(self, seconds: float, anneal: bool = True, log_every: float = 30.0):
        if not seconds > 0:
            raise ValueError(f"the training budget must be > 0 seconds; got {seconds!r}.")
        self.seconds = float(seconds)
        self.anneal = anneal
        self.log_every = float(log_every)
        self.start()

    def start(self, elapsed: float = 0.0) -> None:
        """Start (or restart) the clock, ``elapsed`` seconds of the budget already spent (a resumed run's)."""
        self.t0 = time.perf_counter() - float(elapsed)
        self._logged = -math.inf
        self._recent: list[float] = []

    @property
    def elapsed(self) -> float:
        """Seconds since :meth:`start`."""
        return time.perf_counter() - self.t0

    def __call__(self, trainer, epoch: int, logs: dict) -> bool:
        elapsed = self.elapsed
        self._recent = [*self._recent[-2:], float(logs["seconds"])]
        lr = trainer.optimizer.param_groups[0]["lr"]
        if self.anneal:
            lr = trainer.learning_rate * 0.5 * (1.0 + math.cos(math.pi * min(1.0, elapsed / self.seconds)))
            for group in trainer.optimizer.param_groups:
                group["lr"] = lr
        stop = elapsed + max(self._recent) > self.seconds
        val = logs.get("val_loss")
        level = logging.INFO if (stop or elapsed - self._logged >= self.log_every) else logging.DEBUG
        if level == logging.INFO:
            self._logged = elapsed
        logger.log(level, "epoch %d: loss %.5g%s, next lr %.3g, %.0f of %.0f s%s", epoch, logs["loss"],
                   "" if val is None else f", val_loss {val:.5g}", lr, elapsed, self.seconds,
                   " (budget spent)" if stop else "")
        return stop
