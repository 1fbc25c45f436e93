"""Training checkpoints: save a :class:`~aekit.training.Trainer`'s whole state, resume it exactly.

A checkpoint is one file, ``DIR/checkpoint.safetensors``, written atomically
(temporary file + rename, so a kill leaves the previous checkpoint or the new
one). Every tensor of the state (weights, optimiser moments, the best weights
kept for early stopping, the random generators' states as ``uint8`` tensors,
the validation indices) is a safetensors tensor; everything else (epoch,
curves, schedule, early-stopping counters, the estimator's class and
parameters, a digest of the training data) is JSON in the safetensors header.
Nothing in the file is pickled, so loading one cannot run code.

Use it through the estimator::

    ae.fit(X, checkpoint_dir="ckpt", checkpoint_every=5)   # saves every 5 epochs
    ae.fit(X, checkpoint_dir="ckpt", resume=True)           # continues exactly

or, for any estimator built on :class:`~aekit.Autoencoder`,
``with checkpointing(ae, "ckpt", resume=True): ae.fit(X)``. While a
checkpointed fit runs in the main thread, SIGINT, SIGTERM and SIGUSR1 only set a flag:
the current epoch finishes, a checkpoint is saved and :class:`TrainingInterrupted`
(a ``KeyboardInterrupt``) is raised. A second signal interrupts at once.
A resumed fit ends with the same weights, bit for bit on CPU, as one that
was never interrupted.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import math
import os
import signal
import time
from pathlib import Path

import numpy as np
import torch

from . import _signals
from ._atomic import check_parents
from ._checkpoint_file import CHECKPOINT_FILE, FORMAT_VERSION, load_checkpoint, read_checkpoint_info, save_checkpoint
from ._messages import first_line
from .distributed import barrier, is_distributed, is_main_process, max_over_ranks, same_on_all_ranks

__all__ = ["CHECKPOINT_FILE", "FORMAT_VERSION", "TrainingInterrupted", "checkpointing", "load_checkpoint",
           "read_checkpoint_info", "save_checkpoint"]

logger = logging.getLogger(__name__)

# SIGUSR1: what batch schedulers are often asked to send before the time limit (Slurm's --signal=USR1@120)
_SIGNALS = ("SIGINT", "SIGTERM", "SIGUSR1")


class TrainingInterrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM stopped a checkpointed fit at an epoch end, after saving a checkpoint.

    A ``KeyboardInterrupt``, so code that does not expect it stops as on
    Ctrl-C. Each parameter is an attribute of the same name.

    Parameters
    ----------
    signum : int
        The signal received.
    epoch : int
        The last completed epoch, saved in the checkpoint.
    path : Path
        The checkpoint file.
    """

    def __init__(self, signum: int, epoch: int, path: Path):
        self.signum, self.epoch, self.path = int(signum), int(epoch), Path(path)
        name = signal.Signals(self.signum).name
        super().__init__(f"{name} received: stopped after epoch {epoch}; checkpoint saved to {path}.")


# --------------------------------------------------------------- estimator glue
def _digest(*arrays) -> str:
    h = hashlib.blake2b(digest_size=16)
    for a in arrays:
        if isinstance(a, np.memmap):  # read in chunks from the file: memory stays bounded (aekit.streaming)
            from .streaming import ArraySource

            h.update(f"{np.dtype(np.float32).str}{a.shape}".encode())  # as the float32 in-memory array
            for chunk, _ in ArraySource(a).chunks():
                h.update(memoryview(chunk).cast("B"))
        elif a is not None:
            a = np.ascontiguousarray(a)
            h.update(f"{a.dtype.str}{a.shape}".encode())
            h.update(memoryview(a).cast("B"))
    return h.hexdigest()


def _json_params(estimator) -> dict:
    params = {}
    for name, value in estimator.get_params(deep=False).items():
        if name == "verbose":
            continue
        if isinstance(value, tuple):
            value = list(value)
        try:
            # numpy scalars (seeds from np.arange) as the Python numbers they equal: a run started with
            # random_state=np.int64(5) resumes with random_state=5, as the CLI passes it
            value = json.loads(json.dumps(value, allow_nan=False, default=_numpy_scalar))
        except (TypeError, ValueError):
            value = repr(value)
        params[name] = value
    return params


def _numpy_scalar(value):
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


class _Signals:
    """SIGINT/SIGTERM/SIGUSR1 handlers that only record the signal; a second one interrupts at once.

    Installed while a checkpointed ``fit`` runs (greedy pretraining included:
    its weights are in the first epoch's checkpoint); a signal still pending
    when they are restored is raised again, so that it takes its usual course
    instead of being lost.
    """

    def __init__(self):
        self.received: int | None = None
        self._previous: dict = {}

    def __call__(self, signum, frame):
        if self.received is not None:
            self.received = None  # answered by this interrupt
            previous = self._previous.get(signum)
            if callable(previous):  # its usual course: the command line's exits 143 for SIGTERM, not Ctrl-C's 130
                previous(signum, frame)
            raise KeyboardInterrupt
        self.received = signum

    def install(self) -> None:
        if self._previous:
            return
        self.received = None
        self._previous = _signals.install(self, _SIGNALS)  # none outside the main thread: checkpoints still work

    def restore(self) -> None:
        _signals.restore(self._previous)
        pending, self.received = (self.received if self._previous else None), None
        self._previous.clear()
        if pending is not None:  # arrived after the last epoch's check (or in partial_fit): not swallowed
            signal.raise_signal(pending)


class _Session:
    """One checkpointed fit: what ``Autoencoder._fit`` calls at its three hook points."""

    def __init__(self, directory: Path, every: int, resume: bool):
        self.directory, self.every, self.resume_requested = directory, every, resume
        self.signals = _Signals()
        self.state: dict | None = None
        self.seconds_before = 0.0
        self.saved_device: str | None = None
        self.meta: dict = {}
        self._start = time.perf_counter()

    @property
    def path(self) -> Path:
        return self.directory / CHECKPOINT_FILE

    # hook 1: before the network and the trainer are built
    def begin(self, estimator, X, mask, val_idx, train_idx):
        """Describe the run; when resuming, check it matches and return the saved split."""
        self._start = time.perf_counter()
        self.signals.install()  # until the fit ends, a signal stops it at an epoch end, with a checkpoint
        self.meta = {
            "class": type(estimator).__name__,
            "params": _json_params(estimator),
            "data": {"n_samples": int(X.shape[0]), "n_features": int(X.shape[1]), "digest": _digest(X, mask)},
        }
        self.val_idx = torch.from_numpy(np.asarray(val_idx, dtype=np.int64))
        if not self.path.exists():
            if self.resume_requested:
                self._check_same_on_all_ranks(None)
                logger.info("no checkpoint in %s yet; starting from scratch", self.directory)
            return val_idx, train_idx
        if not self.resume_requested:
            raise FileExistsError(
                f"{self.directory} already holds a checkpoint ({self.path}); resume it (resume=True, "
                f"--resume) or remove it to start over."
            )
        state, saved = load_checkpoint(self.directory)
        self._check_same_on_all_ranks(saved)
        self._check_compatible(saved)
        n = int(X.shape[0])
        split = saved.get("val_idx")
        if not isinstance(split, torch.Tensor) or split.ndim != 1 or split.dtype != torch.int64 or (
                split.numel() and (int(split.min()) < 0 or int(split.max()) >= n)):
            raise ValueError(f"{self.path} has a corrupt validation split; delete it to start over.")
        val_idx = split.numpy()
        if np.unique(val_idx).size != val_idx.size or val_idx.size >= n:
            raise ValueError(f"{self.path} has a corrupt validation split; delete it to start over.")
        train_idx = np.setdiff1d(np.arange(n), val_idx)
        self.val_idx = split
        self.state = state
        self.seconds_before = float(saved.get("seconds", 0.0))
        self.saved_device = saved.get("device")  # None in checkpoints from before it was recorded
        return val_idx, train_idx

    def _check_same_on_all_ranks(self, saved: dict | None) -> None:
        """Under torchrun, refuse to go on unless every rank resumes from the same checkpoint (or none).

        Only rank 0 writes checkpoints; on a disk of its own machine the other machines' ranks would start
        from scratch beside it: weights that differ under one all-reduced gradient, a silently wrong model.
        """
        if not is_distributed():
            return
        import torch.distributed as dist

        device = torch.device("cuda", torch.cuda.current_device()) if dist.get_backend() == "nccl" else "cpu"
        epoch = -1.0 if saved is None else float(saved.get("epoch", -1))
        seconds = 0.0 if saved is None else float(saved.get("seconds", 0.0))
        if not same_on_all_ranks(torch.tensor([epoch, seconds], dtype=torch.float64, device=device), rtol=0.0):
            here = "none" if saved is None else f"epoch {int(epoch)}"
            raise ValueError(
                f"the ranks would resume from different checkpoints ({self.path} here: {here}). Only rank 0 "
                "writes them, so every machine must see the same checkpoint_dir (--checkpoint-dir): put it on a "
                "filesystem they share."
            )

    def _check_compatible(self, saved: dict) -> None:
        if saved.get("class") != self.meta["class"]:
            raise ValueError(
                f"{self.path} was written by {saved.get('class')!r}, not {self.meta['class']!r}; "
                f"resume with the same model, or delete {self.path} to start over."
            )
        theirs, ours = saved.get("params"), self.meta["params"]
        if not isinstance(theirs, dict):
            raise ValueError(f"{self.path} has no parameters; expected an aekit checkpoint.")
        # the device is where a run trains, not what it trains: a CUDA checkpoint may resume on CPU
        diff = [f"{k}={theirs.get(k)!r} there, {ours.get(k)!r} here" for k in sorted(set(theirs) | set(ours))
                if theirs.get(k) != ours.get(k) and k != "device"]
        if diff:
            raise ValueError(
                f"{self.path} was written with other parameters ({'; '.join(diff)}); "
                f"resume with the same parameters, or delete {self.path} to start over."
            )
        if saved.get("data") != self.meta["data"]:
            raise ValueError(
                f"{self.path} was written for other training data ({saved.get('data')} there, "
                f"{self.meta['data']} here); resume on the same data, or delete {self.path} to start over."
            )

    # hook 2: the trainer's callback
    def callback(self, inner=None):
        """A trainer callback that runs ``inner`` (progress, a time budget) and then checkpoints."""

        def on_epoch_end(trainer, epoch, logs):
            stop = bool(inner(trainer, epoch, logs)) if inner is not None else False
            signum = self.signals.received
            if trainer.distributed:
                # a signal to any rank (one machine of several preempted) stops all at this epoch; rank 0,
                # which writes, must know, and the others must not leave before it has written
                signum = max_over_ranks(signum or 0, trainer.device) or None
            # inner's stop (max_time) ends training too: the checkpoint must be of that epoch, or a resume
            # (a requeued job that was killed while saving the model) would train on from an earlier one
            finished = stop or trainer._bad_epochs >= trainer.n_iter_no_change or epoch >= trainer.max_epochs
            # under torchrun, rank 0 writes for all (the ranks hold the same state); a process training alone
            # writes its own, whatever RANK torchrun gave it
            if (signum is not None or finished or epoch % self.every == 0) and (
                    not trainer.distributed or is_main_process()):
                self.save(trainer)
            if signum is not None:
                self.signals.received = None  # answered here: not raised again when the handlers are restored
                if trainer.distributed:
                    barrier()
                logger.info("%s: stopped after epoch %d; checkpoint saved to %s",
                               signal.Signals(signum).name, epoch, self.path)
                raise TrainingInterrupted(signum, epoch, self.path)
            return stop

        return on_epoch_end

    def save(self, trainer) -> Path:
        meta = dict(self.meta, epoch=int(trainer.epoch), val_idx=self.val_idx, device=trainer.device.type,
                    seconds=self.seconds_before + time.perf_counter() - self._start)
        path = save_checkpoint(self.directory, trainer.state_dict(), meta)
        logger.debug("saved checkpoint at epoch %d to %s", trainer.epoch, path)
        return path

    # hook 3: after the trainer is built, before it trains
    def resume(self, trainer, n_train: int, progress=None) -> float:
        """Load the saved trainer state (if resuming); returns the seconds already spent."""
        if self.state is None:
            return 0.0
        try:
            trainer.load_state_dict(self.state, steps_per_epoch=math.ceil(n_train / trainer.batch_size))
        except (RuntimeError, KeyError, TypeError, ValueError, IndexError, AttributeError) as err:
            raise ValueError(f"{self.path} does not fit this training run: {first_line(err).rstrip('.')}; delete it "
                             "to start over.") from None
        logger.info("resumed from %s at epoch %d", self.path, trainer.epoch)
        if self.saved_device not in (None, trainer.device.type):
            logger.info("the checkpoint was written on %s and training continues on %s", self.saved_device,
                        trainer.device.type)
        if progress is not None and hasattr(progress, "bar"):
            progress.bar.update(trainer.epoch)
        self.state = None
        return self.seconds_before


@contextlib.contextmanager
def checkpointing(estimator, checkpoint_dir, checkpoint_every: int = 1, resume: bool = False):
    """Checkpoint every ``fit`` of ``estimator`` inside the ``with`` block.

    Parameters
    ----------
    estimator : Autoencoder
        Any aekit estimator (its ``fit`` trains through ``Autoencoder._fit``).
    checkpoint_dir : str, Path or None
        Where ``checkpoint.safetensors`` goes; None turns checkpointing off.
    checkpoint_every : int, default=1
        Save every this many epochs (and always at the last epoch and on
        SIGINT/SIGTERM/SIGUSR1).
    resume : bool, default=False
        Continue from the checkpoint in ``checkpoint_dir`` if there is one
        (the estimator's parameters and the data must be the same). Without
        it, an existing checkpoint is an error rather than overwritten.

    Yields
    ------
    estimator : Autoencoder
        ``estimator`` itself; its ``fit`` calls in the block checkpoint
        (``partial_fit`` calls do not: each is one epoch, whose optimiser
        state the estimator carries to the next call itself).

    Raises
    ------
    TypeError, ValueError
        For invalid arguments (``checkpoint_dir`` not a path,
        ``checkpoint_every`` not an int >= 1, ``resume`` not a bool).
    NotADirectoryError
        If ``checkpoint_dir`` exists and is not a directory, or is under a file.
    FileExistsError
        (at fit) If a checkpoint exists and ``resume`` is False.
    TrainingInterrupted
        (at fit) On SIGINT/SIGTERM/SIGUSR1, once the checkpoint is saved.

    Examples
    --------
    >>> import tempfile
    >>> import numpy as np
    >>> from aekit import Autoencoder
    >>> X = np.random.default_rng(0).random((50, 6))
    >>> ae = Autoencoder(n_components=2, hidden_layer_sizes=(8,), max_epochs=3, random_state=0)
    >>> with tempfile.TemporaryDirectory() as ckpt:
    ...     with checkpointing(ae, ckpt):
    ...         _ = ae.fit(X)
    ...     read_checkpoint_info(ckpt)["epoch"]
    3
    """
    if checkpoint_dir is None:
        yield estimator
        return
    if not isinstance(checkpoint_dir, (str, os.PathLike)):
        raise TypeError(f"checkpoint_dir must be a path or None; got {checkpoint_dir!r}.")
    if isinstance(checkpoint_every, bool) or not isinstance(checkpoint_every, (int, np.integer)):
        raise TypeError(f"checkpoint_every must be an int; got {checkpoint_every!r}.")
    if checkpoint_every < 1:
        raise ValueError(f"checkpoint_every must be >= 1; got {checkpoint_every!r}.")
    if not isinstance(resume, (bool, np.bool_)):
        raise TypeError(f"resume must be True or False; got {resume!r}.")
    directory = Path(checkpoint_dir)
    if directory.exists() and not directory.is_dir():
        raise NotADirectoryError(f"checkpoint_dir {directory} exists and is not a directory.")
    check_parents(directory / CHECKPOINT_FILE)  # now, not when the first checkpoint is written after an epoch
    session = _Session(directory, int(checkpoint_every), bool(resume))
    estimator._checkpointing = session
    try:
        yield estimator
    finally:
        session.signals.restore()
        estimator.__dict__.pop("_checkpointing", None)
