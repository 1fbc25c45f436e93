"""Trainer callbacks the estimators attach: a progress bar, a time budget, and chaining.

A callback is ``callback(trainer, epoch, logs) -> bool``, called after each
epoch; True stops training (see :class:`aekit.training.Trainer`).
"""

from __future__ import annotations

import logging
import math
import os
import sys
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
    """Per-epoch progress as a :class:`~aekit.training.Trainer` callback, on ``file`` (default: stderr).

    A tqdm bar on a terminal or in a notebook (a widget with ipywidgets, a
    text bar without). Elsewhere (a log file, a pipe, a terminal that
    reports no size,
    a Slurm or CI log) a bar's carriage-return redraws become one endless
    line, so plain lines are written instead: after the first epoch, then at
    most one every ``log_every`` seconds, and the last one when training ends.
    """

    def __init__(self, total: int, file=None, log_every: float = 10.0):
        from tqdm.auto import tqdm

        file = sys.stderr if file is None else file
        notebook = any(c.__module__ == "tqdm.notebook" for c in tqdm.__mro__)
        # a Jupyter kernel's stderr is no TTY, but the notebook redraws a text bar in place
        # (tqdm.auto falls back to that bar when ipywidgets is missing)
        if notebook or (_isatty(file) and _sized(file)) or (file in (sys.stderr, sys.stdout) and _jupyter_kernel()):
            self.bar = tqdm(total=total, unit="epoch", dynamic_ncols=True, leave=True, file=file)
        else:
            self.bar = _Lines(total, file, log_every)
        self.max_epochs, self.budget = total, None

    def set_time_budget(self, max_time: float, start: float) -> None:
        """Count to the epochs that ``max_time`` seconds since ``start`` leave room for, not to ``total``.

        Without it the bar's estimate of the time left was the time to
        ``max_epochs``, though the budget would stop training long before.
        """
        self.budget = (float(max_time), float(start))

    def __call__(self, trainer, epoch, logs):
        post = {"loss": f"{logs['loss']:.4g}"}
        if logs["val_loss"] is not None:
            post["val_loss"] = f"{logs['val_loss']:.4g}"
        self.bar.set_postfix(post, refresh=False)
        if self.budget is not None:
            max_time, start = self.budget
            done = self.bar.n + 1
            elapsed = time.perf_counter() - start
            # the epochs the rest of the budget holds at the pace so far (time_budget stops after the epoch
            # that crosses it, hence the + 1)
            more = math.floor(max(0.0, max_time - elapsed) / (elapsed / done)) + 1 if elapsed < max_time else 0
            self.bar.total = max(done, min(self.max_epochs, done + more))
        self.bar.update(1)
        return False

    def close(self):
        self.bar.close()


def _jupyter_kernel() -> bool:
    """Whether this runs in a Jupyter kernel (a notebook, JupyterLab, VS Code, Colab)."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if hasattr(ipython, "get_ipython") else None
    return type(shell).__name__ == "ZMQInteractiveShell"


def _isatty(file) -> bool:
    try:
        return bool(file.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


def _sized(file) -> bool:
    """Whether a terminal ``file`` reports its size, or has no descriptor to ask (a stand-in stream).

    A pseudo-terminal nobody sized (``docker run -t`` fed by a script, ``script`` in a CI job) says 0 rows and
    0 columns, and tqdm then draws an empty bar: the user saw no progress at all, not even the plain lines.
    """
    try:
        size = os.get_terminal_size(file.fileno())
    except (AttributeError, ValueError, OSError):  # io.UnsupportedOperation is both an OSError and a ValueError
        return True
    return size.lines > 0 and size.columns > 0


class _Lines:
    """The part of tqdm's interface :class:`Progress` uses, writing a whole line now and then instead of a bar."""

    FORMAT = "epoch {n_fmt}/{total_fmt} [{elapsed}<{remaining}, {rate_fmt}{postfix}]"
    FINAL = "epoch {n_fmt}/{total_fmt} [{elapsed}, {rate_fmt}{postfix}]"  # no time left to estimate

    def __init__(self, total: int, file, log_every: float):
        self.total, self.file, self.log_every = total, file, log_every
        self.n, self.postfix = 0, ""
        self.start = time.perf_counter()
        self.written_at, self.written_n = -math.inf, 0

    def set_postfix(self, values: dict, refresh: bool = False) -> None:
        self.postfix = ", ".join(f"{k}={v}" for k, v in values.items())

    def update(self, n: int = 1) -> None:
        self.n += n
        now = time.perf_counter()
        if self.written_n == 0 or now - self.written_at >= self.log_every:
            self._write(now)

    def close(self) -> None:
        if self.n != self.written_n:
            self._write(time.perf_counter(), self.FINAL)

    def _write(self, now: float, bar_format: str = FORMAT) -> None:
        from tqdm import tqdm

        text = tqdm.format_meter(self.n, self.total, now - self.start, unit="epoch", postfix=self.postfix,
                                 bar_format=bar_format)
        try:
            self.file.write(text + "\n")
            self.file.flush()
        except (OSError, ValueError):  # a closed or broken log stream must not stop training
            pass
        self.written_at, self.written_n = now, self.n
