"""The training engine shared by every autoencoder in aekit.

:class:`Trainer` fits any module with ``encode`` and ``decode`` (and
``decode_logits`` for losses on logits) by minibatch gradient descent on

    loss(decode(encode(corrupt(x))), x) + penalty(code)

It knows nothing about estimators, files or progress bars: it takes named
values (epochs, batch size, optimiser settings, a corruption function, a
penalty function, a callback) and reports through the callback. Its whole
state (weights, optimiser, schedule, random generators, curves, early
stopping) round-trips through :meth:`Trainer.state_dict`, which is what
checkpoints are made of.
"""

from __future__ import annotations

import copy
import logging
import math
import time
from dataclasses import dataclass, field
from typing import Callable

import torch
from torch import nn

from .losses import LOSSES

__all__ = ["OPTIMIZERS", "LR_SCHEDULES", "Trainer", "TrainResult", "TrainingDivergedError", "resolve_device"]

logger = logging.getLogger(__name__)

#: Optimisers by name; each builder takes (params, learning_rate, weight_decay, momentum, fused).
OPTIMIZERS = {
    "adam": lambda p, lr, wd, mom, fused: torch.optim.Adam(p, lr=lr, weight_decay=wd, **fused),
    "adamw": lambda p, lr, wd, mom, fused: torch.optim.AdamW(p, lr=lr, weight_decay=wd, **fused),
    "sgd": lambda p, lr, wd, mom, fused: torch.optim.SGD(
        p, lr=lr, weight_decay=wd, momentum=mom, nesterov=mom > 0, **fused
    ),
}

#: Learning-rate schedules; "cosine" and "onecycle" step every batch, "plateau" every epoch.
LR_SCHEDULES = ("constant", "cosine", "onecycle", "plateau")

PRECISIONS = {"float32": None, "bfloat16": torch.bfloat16}


class TrainingDivergedError(FloatingPointError, ValueError):
    """The loss or the weights became NaN or infinite; the last good weights were kept.

    A ``ValueError`` too: divergence comes from the inputs (a learning rate
    too high, data on a huge scale), so callers that report bad input
    report it the same way.
    """


@dataclass
class TrainResult:
    """What a training run produced.

    Attributes
    ----------
    loss_curve : list of float
        Mean training objective per epoch.
    validation_curve : list of float
        Mean validation objective per epoch (empty without validation data).
    n_iter : int
        Epochs run.
    best_epoch : int
        1-based epoch whose weights the network holds at the end.
    stopped_early : bool
        Whether early stopping (or the callback) ended training.
    """

    loss_curve: list = field(default_factory=list)
    validation_curve: list = field(default_factory=list)
    n_iter: int = 0
    best_epoch: int = 0
    stopped_early: bool = False


class _Step(nn.Module):
    """Wrap ``encode``/``decode`` in one ``forward`` so DDP and compile see a single call."""

    def __init__(self, net: nn.Module, from_logits: bool):
        super().__init__()
        self.net = net
        self.from_logits = from_logits

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        code = self.net.encode(x)  # (batch, n_components)
        out = self.net.decode_logits(code) if self.from_logits else self.net.decode(code)
        return code, out


class Trainer:
    """Minibatch trainer for autoencoder modules.

    Parameters
    ----------
    net : nn.Module
        Has ``encode``, ``decode`` and, for losses on logits, ``decode_logits``.
    loss : str
        Key of :data:`aekit.losses.LOSSES`.
    penalty : callable, optional
        ``penalty(code) -> scalar tensor`` added to the loss (sparsity).
    corruption : callable, optional
        ``corruption(x, generator) -> x_tilde`` applied to each input batch.
    optimizer : str
        Key of :data:`OPTIMIZERS`.
    learning_rate, weight_decay, momentum : float
        Optimiser settings (``momentum`` is used by SGD only).
    lr_schedule : str
        One of :data:`LR_SCHEDULES`.
    batch_size, max_epochs : int
        Minibatch size and epoch budget.
    n_iter_no_change : int
        Stop after this many epochs without a relative improvement of
        ``tol`` in the monitored loss (validation if given, else training).
    tol : float
        Relative improvement that counts.
    device : torch.device or str
        Where to train.
    precision : {"float32", "bfloat16"}
        ``"bfloat16"`` runs forward passes under autocast.
    seed : int
        Seeds the shuffling and corruption generators.
    callback : callable, optional
        ``callback(trainer, epoch, logs)`` after each epoch; returning True
        stops training.
    epoch_data : callable, optional
        ``epoch_data(epoch) -> X or None`` called before each epoch (0-based);
        a returned array replaces the training data for that epoch (fresh
        samples from a generator), None keeps the data given to :meth:`fit`.
        Not combinable with a mask; with a per-step schedule ("cosine",
        "onecycle") it must keep the number of rows.
    """

    def __init__(
        self,
        net: nn.Module,
        *,
        loss: str = "mse",
        penalty: Callable[[torch.Tensor], torch.Tensor] | None = None,
        corruption: Callable[[torch.Tensor, torch.Generator], torch.Tensor] | None = None,
        optimizer: str = "adam",
        learning_rate: float = 1e-3,
        weight_decay: float = 0.0,
        momentum: float = 0.9,
        lr_schedule: str = "constant",
        batch_size: int = 256,
        max_epochs: int = 100,
        n_iter_no_change: int = 10,
        tol: float = 1e-4,
        device: torch.device | str = "cpu",
        precision: str = "float32",
        seed: int = 0,
        callback: Callable | None = None,
        epoch_data: Callable | None = None,
    ):
        self.device = torch.device(device)
        self.net = net.to(self.device)
        self.loss = LOSSES[loss]
        self.penalty = penalty
        self.corruption = corruption
        self.batch_size = int(batch_size)
        self.max_epochs = int(max_epochs)
        self.n_iter_no_change = int(n_iter_no_change)
        self.tol = float(tol)
        self.lr_schedule = lr_schedule
        self.learning_rate = float(learning_rate)
        self.autocast_dtype = PRECISIONS[precision]
        self.callback = callback
        self.epoch_data = epoch_data
        self.step_module = _Step(self.net, self.loss.from_logits)
        fused = {"fused": True} if self._fused_ok() else {"foreach": True}
        self.optimizer = OPTIMIZERS[optimizer](
            self.net.parameters(), self.learning_rate, float(weight_decay), float(momentum), fused
        )
        self.scheduler = None
        self.shuffle_generator = torch.Generator().manual_seed(int(seed))
        self.noise_generator = torch.Generator(device=self.device).manual_seed(int(seed) + 1)
        self.result = TrainResult()
        self.epoch = 0
        self._best_value = math.inf
        self._best_state: dict | None = None
        self._bad_epochs = 0

    def _fused_ok(self) -> bool:
        params = list(self.net.parameters())
        return bool(params) and all(p.dtype == torch.float32 for p in params) and self.device.type in ("cpu", "cuda")

    # ------------------------------------------------------------------ data
    def _as_device_tensor(self, X) -> torch.Tensor | None:
        if X is None:
            return None
        X = torch.as_tensor(X)
        return X.to(self.device, non_blocking=True)

    def _batches(self, n: int) -> list[torch.Tensor]:
        """Index tensors of one epoch's minibatches, in a fresh random order."""
        perm = torch.randperm(n, generator=self.shuffle_generator)
        return list(torch.split(perm, self.batch_size))

    def _fresh_data(self, X: torch.Tensor, n: int, per_step: bool) -> tuple[torch.Tensor, int]:
        fresh = self.epoch_data(self.epoch)
        if fresh is None:
            return X, n
        fresh = self._as_device_tensor(fresh).to(X.dtype)
        if fresh.ndim != 2 or fresh.shape[1] != X.shape[1] or (per_step and fresh.shape[0] != n):
            raise ValueError(f"epoch_data({self.epoch}) returned shape {tuple(fresh.shape)}; expected (n, "
                             f"{X.shape[1]})" + (f" with n={n} (per-step schedule)." if per_step else "."))
        return fresh, fresh.shape[0]

    # ------------------------------------------------------------ objective
    def _objective(self, x: torch.Tensor, mask: torch.Tensor | None, generator) -> torch.Tensor:
        x_in = x if mask is None else x * mask
        if self.corruption is not None:
            x_in = self.corruption(x_in, generator)
        with torch.autocast(self.device.type, dtype=self.autocast_dtype or torch.float32,
                            enabled=self.autocast_dtype is not None):
            code, out = self.step_module(x_in)
        value = self.loss.fn(out.float(), x, mask)
        if self.penalty is not None:
            value = value + self.penalty(code.float())
        return value

    def _make_scheduler(self, steps_per_epoch: int):
        total = max(1, self.max_epochs * steps_per_epoch)
        if self.lr_schedule == "cosine":
            return torch.optim.lr_scheduler.CosineAnnealingLR(self.optimizer, T_max=total)
        if self.lr_schedule == "onecycle":
            return torch.optim.lr_scheduler.OneCycleLR(self.optimizer, max_lr=self.learning_rate, total_steps=total)
        if self.lr_schedule == "plateau":
            return torch.optim.lr_scheduler.ReduceLROnPlateau(
                self.optimizer, factor=0.5, patience=max(1, self.n_iter_no_change // 2)
            )
        return None

    @torch.no_grad()
    def evaluate(self, X: torch.Tensor, mask: torch.Tensor | None = None, seed: int = 12345) -> float:
        """Mean objective on ``X`` with fixed corruption noise (comparable across epochs)."""
        self.net.eval()
        generator = torch.Generator(device=self.device).manual_seed(seed)
        total = torch.zeros((), device=self.device)
        n = X.shape[0]
        for start in range(0, n, 4 * self.batch_size):
            xb = X[start:start + 4 * self.batch_size]
            mb = None if mask is None else mask[start:start + 4 * self.batch_size]
            total += self._objective(xb, mb, generator) * xb.shape[0]
        return float(total / max(n, 1))

    # ------------------------------------------------------------------ fit
    def fit(self, X, X_val=None, mask=None, mask_val=None) -> TrainResult:
        """Train on ``X`` (n_samples, n_features) until the budget or early stopping.

        ``mask``/``mask_val`` (same shapes, 1 for observed entries) restrict
        the loss to observed entries and zero the rest at the input. Resumes
        from :attr:`epoch` when the trainer's state was loaded.
        """
        X = self._as_device_tensor(X)
        X_val = self._as_device_tensor(X_val)
        mask = self._as_device_tensor(mask)
        mask_val = self._as_device_tensor(mask_val)
        n = X.shape[0]
        steps = math.ceil(n / self.batch_size)
        if self.scheduler is None:
            self.scheduler = self._make_scheduler(steps)
        per_step = self.lr_schedule in ("cosine", "onecycle")
        if self.epoch_data is not None and mask is not None:
            raise ValueError("epoch_data cannot be combined with a mask.")
        # a state saved after early stopping fired (a checkpoint at that epoch) must not train on
        self.result.stopped_early = self._bad_epochs >= self.n_iter_no_change
        while self.epoch < self.max_epochs and not self.result.stopped_early:
            tic = time.perf_counter()
            if self.epoch_data is not None:
                X, n = self._fresh_data(X, n, per_step)
            epoch_state = self._snapshot()
            self.net.train()
            running = torch.zeros((), device=self.device)
            for idx in self._batches(n):
                idx = idx.to(self.device, non_blocking=True)
                xb = X.index_select(0, idx)
                mb = None if mask is None else mask.index_select(0, idx)
                value = self._objective(xb, mb, self.noise_generator)
                self.optimizer.zero_grad(set_to_none=True)
                value.backward()
                self.optimizer.step()
                if per_step:
                    self.scheduler.step()
                running += value.detach() * idx.shape[0]
            train_loss = float(running / n)  # one host sync per epoch
            self.epoch += 1
            val_loss = None
            if math.isfinite(train_loss) and X_val is not None and X_val.shape[0] > 0:
                val_loss = self.evaluate(X_val, mask_val)
            why = self._diverged(train_loss, val_loss)
            if why:
                self.net.load_state_dict(epoch_state)
                raise TrainingDivergedError(
                    f"Training diverged at epoch {self.epoch}: {why}. The weights from before that epoch "
                    f"were kept; try a lower learning_rate (now {self.learning_rate:g}) or scale the data."
                )
            self.result.loss_curve.append(train_loss)
            if val_loss is not None:
                self.result.validation_curve.append(val_loss)
            monitor = train_loss if val_loss is None else val_loss
            if self.lr_schedule == "plateau":
                self.scheduler.step(monitor)
            stop = self._early_stopping(monitor, keep_best=val_loss is not None)
            self.result.n_iter = self.epoch
            logs = {"loss": train_loss, "val_loss": val_loss, "lr": self.optimizer.param_groups[0]["lr"],
                    "seconds": time.perf_counter() - tic}
            logger.debug("epoch %d %s", self.epoch, logs)
            if self.callback is not None and self.callback(self, self.epoch, logs):
                stop = True
            if stop:
                self.result.stopped_early = True
                break
        if self._best_state is not None:
            self.net.load_state_dict(self._best_state)
        return self.result

    def _diverged(self, train_loss: float, val_loss: float | None) -> str:
        """Why the epoch just run diverged, or "" if it did not."""
        if not math.isfinite(train_loss):
            return f"the training loss became {train_loss}"
        if val_loss is not None and not math.isfinite(val_loss):
            return f"the validation loss became {val_loss}"
        params = [p.detach() for p in self.net.parameters()]
        if params and not bool(torch.stack([p.isfinite().all() for p in params]).all()):
            return "the weights became infinite or NaN"
        return ""

    def _early_stopping(self, value: float, keep_best: bool) -> bool:
        threshold = self._best_value - self.tol * abs(self._best_value) if math.isfinite(self._best_value) else math.inf
        if value < threshold:
            self._best_value = value
            self._bad_epochs = 0
            self.result.best_epoch = self.epoch
            if keep_best:
                self._best_state = self._snapshot()
        else:
            self._bad_epochs += 1
        if not keep_best:
            self.result.best_epoch = self.epoch
        return self._bad_epochs >= self.n_iter_no_change

    def _snapshot(self) -> dict:
        return {k: v.detach().clone() for k, v in self.net.state_dict().items()}

    # ----------------------------------------------------------- checkpoint
    def state_dict(self) -> dict:
        """Everything needed to continue training exactly where it stopped."""
        return {
            "net": self._snapshot(),
            "optimizer": copy.deepcopy(self.optimizer.state_dict()),
            "scheduler": None if self.scheduler is None else copy.deepcopy(self.scheduler.state_dict()),
            "shuffle_generator": self.shuffle_generator.get_state(),
            "noise_generator": self.noise_generator.get_state(),
            "epoch": self.epoch,
            "result": copy.deepcopy(self.result.__dict__),
            "best_value": self._best_value,
            "best_state": self._best_state,
            "bad_epochs": self._bad_epochs,
        }

    def load_state_dict(self, state: dict, steps_per_epoch: int) -> None:
        """Restore a :meth:`state_dict`; ``steps_per_epoch`` rebuilds the schedule."""
        self.net.load_state_dict(state["net"])
        # scheduler first: building one (OneCycleLR) resets the optimiser's lr and momentum,
        # which the optimiser's saved state then restores
        self.scheduler = self._make_scheduler(steps_per_epoch)
        self.optimizer.load_state_dict(state["optimizer"])
        if self.scheduler is not None and state["scheduler"] is not None:
            self.scheduler.load_state_dict(state["scheduler"])
        self.shuffle_generator.set_state(state["shuffle_generator"])
        self.noise_generator.set_state(state["noise_generator"])
        self.epoch = int(state["epoch"])
        self.result = TrainResult(**copy.deepcopy(state["result"]))
        self._best_value = float(state["best_value"])
        self._best_state = state["best_state"]
        self._bad_epochs = int(state["bad_epochs"])


def resolve_device(device: str) -> torch.device:
    """Turn ``"auto"``, ``"cpu"``, ``"cuda"`` or ``"cuda:N"`` into a usable ``torch.device``.

    Raises
    ------
    ValueError
        If the device is unknown or CUDA is asked for but not available.
    """
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise ValueError(f"device must be 'auto', 'cpu', 'cuda' or 'cuda:N'; got {device!r}.") from None
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(
                f"device={device!r} but CUDA is not available on this machine "
                "(torch.cuda.is_available() is False); use device='cpu' or 'auto'."
            )
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise ValueError(f"device={device!r} but only {torch.cuda.device_count()} CUDA device(s) exist.")
    elif dev.type != "cpu":
        raise ValueError(f"device must be 'auto', 'cpu', 'cuda' or 'cuda:N'; got {device!r}.")
    return dev
