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

import logging
import math
import time
from contextlib import nullcontext
from typing import Callable

import torch
from torch import nn

from . import distributed as dist_util
from ._device import PRECISIONS, fast_bfloat16, resolve_device
from ._feed import check_same_rows, make_feed
from ._torch_globals import num_threads
from ._trainer_objective import ObjectiveMixin, _Step
from ._trainer_state import TrainerStateMixin, TrainResult
from .losses import LOSSES
from .schedules import WARMUP_STEPS, WarmupPlateau

__all__ = ["OPTIMIZERS", "LR_SCHEDULES", "WarmupPlateau", "Trainer", "TrainResult", "TrainingDivergedError",
           "resolve_device", "fast_bfloat16"]

logger = logging.getLogger(__name__)

#: Optimisers by name; each builder takes (params, learning_rate, weight_decay, momentum, fused).
OPTIMIZERS = {
    "adam": lambda p, lr, wd, mom, fused: torch.optim.Adam(p, lr=lr, weight_decay=wd, **fused),
    "adamw": lambda p, lr, wd, mom, fused: torch.optim.AdamW(p, lr=lr, weight_decay=wd, **fused),
    "sgd": lambda p, lr, wd, mom, fused: torch.optim.SGD(
        p, lr=lr, weight_decay=wd, momentum=mom, nesterov=mom > 0, **fused
    ),
}

#: Learning-rate schedules; "cosine" and "onecycle" step every batch, "plateau" every epoch;
#: "warmup_plateau" rises linearly over the first :data:`WARMUP_STEPS` steps (at most one epoch),
#: then behaves as "plateau".
LR_SCHEDULES = ("constant", "cosine", "onecycle", "plateau", "warmup_plateau")


class TrainingDivergedError(FloatingPointError, ValueError):
    """The loss or the weights became NaN or infinite; the last good weights were kept.

    A ``ValueError`` too: divergence comes from the inputs (a learning rate
    too high, data on a huge scale), so callers that report bad input
    report it the same way.
    """


def _n_features(X) -> int:
    """Columns of ``fit``'s ``X``: an array or tensor, a BatchSource, or a list of rows."""
    if hasattr(X, "shape"):
        return int(X.shape[1])
    return int(X.n_features) if hasattr(X, "n_features") else len(X[0])  # (a list used to fail on .n_features)


class Trainer(ObjectiveMixin, TrainerStateMixin):
    """Minibatch trainer for autoencoder modules.

    Parameters
    ----------
    net : nn.Module
        Has ``encode``, ``decode`` and, for losses on logits, ``decode_logits``.
        A stochastic encoder also has ``encode_train(x, generator) -> (code,
        z)``: training and validation decode ``z``, drawn with the seeded
        noise generator (so a resumed run draws the same), and hand ``code``
        to the penalty (a variational autoencoder's mean and log-variance,
        :mod:`aekit.variational`).
    loss : {"mse", "bce"}, default="mse"
        Key of :data:`aekit.losses.LOSSES`: ``"mse"`` compares
        :meth:`decode`'s output with the clean batch, ``"bce"`` compares
        ``decode_logits``' pre-activations with targets in [0, 1].
    penalty : callable, default=None
        ``penalty(code) -> scalar tensor`` added to the loss (sparsity). A
        penalty with the attribute ``needs_input = True`` is called as
        ``penalty(code, x_in, generator)`` with the (corrupted) input batch
        made to require gradients, so it can differentiate the code with
        respect to the input (a contraction penalty on the encoder's
        Jacobian), and the seeded noise generator for any random projection
        (checkpointed, so a resumed run draws the same); validation then
        runs with gradients enabled. None adds nothing.
    corruption : callable, default=None
        ``corruption(x, generator) -> x_tilde`` applied to each input batch
        (:func:`aekit.corruption.make_corruption`); the loss compares the
        reconstruction with the clean batch. None trains on clean inputs.
    optimizer : {"adam", "adamw", "sgd"}, default="adam"
        Key of :data:`OPTIMIZERS`. SGD uses Nesterov momentum when
        ``momentum > 0``.
    learning_rate : float, default=1e-3
        Initial (peak, for "onecycle") step size.
    weight_decay : float, default=0.0
        L2 penalty coefficient handed to the optimiser (decoupled for
        "adamw").
    momentum : float, default=0.9
        SGD momentum; ignored by "adam" and "adamw".
    lr_schedule : {"constant", "cosine", "onecycle", "plateau", \
"warmup_plateau"}, default="constant"
        One of :data:`LR_SCHEDULES`. "cosine" and "onecycle" step every
        batch over ``max_epochs`` epochs; "plateau" halves the rate after
        ``max(1, n_iter_no_change // 2)`` epochs without improvement of the
        monitored loss; "warmup_plateau" first rises linearly over
        ``min(WARMUP_STEPS, batches per epoch)`` steps.
    batch_size : int, default=256
        Samples per gradient step (the global batch under data
        parallelism).
    max_epochs : int, default=100
        Epoch budget; :meth:`fit` resumes counting from :attr:`epoch`.
    n_iter_no_change : int, default=10
        Stop after this many epochs without a relative improvement of
        ``tol`` in the monitored loss (validation if given, else training).
    tol : float, default=1e-4
        Relative improvement that counts: a new loss must be below
        ``best - tol * |best|``.
    device : torch.device or str, default="cpu"
        Where to train; the net is moved there. ``"cuda"`` means the
        current CUDA device. Use :func:`resolve_device` for ``"auto"``.
    precision : {"float32", "bfloat16"}, default="float32"
        ``"bfloat16"`` runs forward passes under autocast (weights and the
        loss stay float32). Faster only where bfloat16 products are native
        (:func:`fast_bfloat16`); elsewhere a warning is logged.
    seed : int, default=0
        Seeds the shuffling generator (``seed``) and the corruption and
        code-noise generator (``seed + 1``).
    callback : callable, default=None
        ``callback(trainer, epoch, logs)`` after each epoch (``epoch``
        1-based; ``logs`` a dict with ``"loss"``, ``"val_loss"`` (None
        without validation data), ``"lr"`` and ``"seconds"``); returning True
        stops training. Under data parallelism rank 0's answer counts.
    num_threads : int, default=None
        Intra-op CPU threads while :meth:`fit` runs (restored afterwards).
        None leaves PyTorch's setting alone (``torch.get_num_threads()``,
        which is the number of physical cores unless ``OMP_NUM_THREADS`` or
        ``torch.set_num_threads`` said otherwise).
    compile : bool, default=False
        Run the forward pass through :func:`torch.compile`. Off by default:
        on the MLPs here it did not pay for its compile time (see
        ``benchmarks/throughput.py``). Not with a ``needs_input`` penalty
        (torch.compile has no double backward).
    distributed : bool, default=None
        Data-parallel training over the active process group
        (:mod:`aekit.distributed`). None: when a group with more than one
        process is initialised.
    prefetch : int, default=1
        Batches read ahead in a background thread when streaming from a file.
    epoch_data : callable, default=None
        ``epoch_data(epoch) -> X or None`` called before each epoch (0-based);
        a returned array of shape (n, n_features) replaces the training data
        for that epoch (fresh samples from a generator), None keeps the data
        given to :meth:`fit`. Not combinable with a mask; with a per-step
        schedule ("cosine", "onecycle") it must keep the number of rows.

    Attributes
    ----------
    net : nn.Module
        The module being trained, on ``device``.
    optimizer : torch.optim.Optimizer
        The optimiser built from ``optimizer``.
    epoch : int
        Epochs completed so far (restored by :meth:`load_state_dict`).
    result : TrainResult
        Curves and stopping information, updated every epoch.

    Raises
    ------
    ValueError
        If ``distributed=True`` without an initialised process group of more
        than one process, or ``loss``, ``optimizer``, ``lr_schedule`` or
        ``precision`` is not a known name, or ``compile=True`` with a
        penalty that ``needs_input``; if ``batch_size``,
        ``n_iter_no_change`` or ``num_threads`` is below 1 or
        ``max_epochs`` below 0.

    Notes
    -----
    ``fit`` takes in-memory arrays or tensors (copied once to ``device``),
    memory-mapped arrays and :class:`~aekit.streaming.BatchSource` objects
    (streamed one batch at a time, see :mod:`aekit.streaming`).

    Examples
    --------
    >>> import torch
    >>> from aekit.nets import MLPAutoencoder
    >>> X = torch.rand(64, 6, generator=torch.Generator().manual_seed(0))
    >>> trainer = Trainer(MLPAutoencoder(6, (4,), 2), batch_size=16, max_epochs=3)
    >>> result = trainer.fit(X)
    >>> result.n_iter, len(result.loss_curve)
    (3, 3)
    >>> trainer.evaluate(X) > 0
    True
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
        num_threads: int | None = None,
        compile: bool = False,
        distributed: bool | None = None,
        prefetch: int = 1,
        epoch_data: Callable | None = None,
    ):
        for name, value, known in (("loss", loss, LOSSES), ("optimizer", optimizer, OPTIMIZERS),
                                   ("lr_schedule", lr_schedule, LR_SCHEDULES), ("precision", precision, PRECISIONS)):
            if value not in known:  # an unknown schedule used to train at a constant rate, silently
                raise ValueError(f"{name} must be one of {{{', '.join(map(repr, known))}}}; got {value!r}.")
        for name, value, low in (("batch_size", batch_size, 1), ("max_epochs", max_epochs, 0),
                                 ("n_iter_no_change", n_iter_no_change, 1), ("num_threads", num_threads, 1)):
            if value is not None and int(value) < low:  # n_iter_no_change=0 trained no epoch, silently
                raise ValueError(f"{name} must be >= {low}; got {value!r}.")
        self.device = torch.device(device)
        if self.device.type == "cuda" and self.device.index is None:
            self.device = torch.device("cuda", torch.cuda.current_device())
        self.net = net.to(self.device)
        self.loss = LOSSES[loss]
        self.penalty = penalty
        # such a penalty differentiates the code with respect to the input (see ``penalty`` above)
        self._penalty_needs_input = bool(getattr(penalty, "needs_input", False))
        if compile and self._penalty_needs_input:  # it failed at the first batch, deep inside torch
            raise ValueError("compile=True cannot be combined with a penalty that differentiates the code with "
                             "respect to the input (needs_input, a contraction penalty): torch.compile does not "
                             "support the double backward it needs; use compile=False.")
        self.corruption = corruption
        self.batch_size = int(batch_size)
        self.max_epochs = int(max_epochs)
        self.n_iter_no_change = int(n_iter_no_change)
        self.tol = float(tol)
        self.lr_schedule = lr_schedule
        self.learning_rate = float(learning_rate)
        self.autocast_dtype = PRECISIONS[precision]
        if self.autocast_dtype is torch.bfloat16 and self.device.type == "cpu" and not fast_bfloat16(self.device):
            # benchmarks/checks/bf16_matmul.py on an AVX2-only AMD EPYC: the net's products under bfloat16 autocast
            # at x0.11-0.12 of float32; the option is there for CPUs with AVX-512 BF16 or AMX (2.7x faster)
            logger.warning("precision='bfloat16' on a CPU without native bfloat16 matrix products (no AVX-512 BF16 "
                           "or AMX here): they are emulated, several times slower than float32; "
                           "precision='float32' trains faster on this machine.")
        self.callback = callback
        self.epoch_data = epoch_data
        self.num_threads = None if num_threads is None else int(num_threads)
        self.prefetch = int(prefetch)
        self.distributed = dist_util.is_distributed() if distributed is None else bool(distributed)
        if self.distributed and not dist_util.is_distributed():
            raise ValueError("distributed=True needs an initialised process group with more than one process; "
                             "launch with torchrun and call aekit.distributed.init_from_env() first.")
        self._eval_module = _Step(self.net, self.loss.from_logits)
        self.step_module = self._eval_module
        if self.distributed:
            # DDP broadcasts rank 0's weights now and averages gradients in backward
            self.step_module = nn.parallel.DistributedDataParallel(
                self._eval_module, device_ids=[self.device.index] if self.device.type == "cuda" else None)
        if compile:
            self.step_module = torch.compile(self.step_module)
        fused = {"fused": True} if self._fused_ok() else {"foreach": True}
        self.optimizer = OPTIMIZERS[optimizer](
            self.net.parameters(), self.learning_rate, float(weight_decay), float(momentum), fused
        )
        self.scheduler = None
        self.shuffle_generator = torch.Generator().manual_seed(int(seed))
        self.noise_generator = torch.Generator(device=self.device).manual_seed(int(seed) + 1)
        self._own_draws: torch.Generator | None = None  # a rank's own draws under DDP (_rank_generator)
        self.result = TrainResult()
        self.epoch = 0
        self._best_value = math.inf
        self._best_state: dict | None = None
        self._bad_epochs = 0
        #: The loss early stopping watched last ("training" or "validation"), None before any (or unknown).
        self._monitoring: str | None = None

    def _fused_ok(self) -> bool:
        params = list(self.net.parameters())
        # fused CPU kernels are new in torch 2.4; older ones (the floor is 2.2) fuse on CUDA only
        devices = ("cpu", "cuda") if torch.__version__ >= "2.4" else ("cuda",)
        return bool(params) and all(p.dtype == torch.float32 for p in params) and self.device.type in devices

    # ------------------------------------------------------------------ data
    def _feed(self, X, mask, cache: dict):
        return make_feed(X, mask, self.device, cache, self.prefetch)

    def _share(self):
        """``(rank, world, need_full)`` under data parallelism, else None."""
        if not self.distributed:
            return None
        # corruption noise and masked-loss weights are drawn/computed on the whole global batch
        return dist_util.rank(), dist_util.world_size(), self.corruption is not None

    def _fresh_data(self, train, n_features: int, per_step: bool):
        """This epoch's feed: ``epoch_data``'s array if it returns one, else ``train``."""
        fresh = self.epoch_data(self.epoch)
        if fresh is None:
            return train
        shape = tuple(fresh.shape)
        if len(shape) != 2 or shape[1] != n_features or (per_step and shape[0] != train.n):
            raise ValueError(f"epoch_data({self.epoch}) returned shape {shape}; expected (n, {n_features})"
                             + (f" with n={train.n} (per-step schedule)." if per_step else "."))
        return self._feed(fresh, None, {})

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
        if self.lr_schedule == "warmup_plateau":
            # at most one epoch, so the ramp ends before the first plateau check
            return WarmupPlateau(self.optimizer, warmup_steps=min(WARMUP_STEPS, steps_per_epoch), factor=0.5,
                                 patience=max(1, self.n_iter_no_change // 2))
        return None

    # ------------------------------------------------------------------ fit
    def fit(self, X, X_val=None, mask=None, mask_val=None) -> TrainResult:
        """Train on ``X`` until the budget or early stopping.

        Resumes from :attr:`epoch` when the trainer's state was loaded. With
        validation data the network ends holding the weights of the best
        validation epoch, without it those of the last epoch.

        Parameters
        ----------
        X : array-like, tensor or BatchSource of shape (n_samples, n_features)
            Training data: arrays or tensors (copied once to the device),
            memory-mapped arrays or :class:`~aekit.streaming.BatchSource`
            objects (streamed; a :class:`~aekit.streaming.Batches` iterable
            is used in its own order).
        X_val : same kinds as X, of shape (n_val, n_features), default=None
            Validation data, evaluated after each epoch with fixed noise;
            early stopping and the "plateau" schedules then monitor it. None
            (or an empty array) monitors the training loss.
        mask : array-like or tensor of shape (n_samples, n_features), default=None
            1 for observed entries of ``X``: the loss counts only them and the
            others are zeroed at the input. None counts every entry.
        mask_val : array-like or tensor of shape (n_val, n_features), default=None
            The same for ``X_val``.

        Returns
        -------
        TrainResult
            :attr:`result`, the curves and stopping information (the same
            object, updated by later calls).

        Raises
        ------
        TrainingDivergedError
            If the loss or the weights become NaN or infinite; the state
            from before that epoch (weights, optimiser and schedule, random
            generators, the epoch count) is restored, so ``fit`` can go on,
            e.g. with a smaller step size in ``optimizer.param_groups``.
        ValueError
            If ``X`` has no rows, ``epoch_data`` is combined with ``mask``,
            or ``epoch_data`` returns an array of the wrong shape; if a streamed batch holds
            NaN or infinity; if ``corruption`` changes a batch's shape or
            ``penalty`` returns a non-scalar; under torchrun, if the ranks
            are given different data.
        """
        if self.epoch_data is not None and mask is not None:
            raise ValueError("epoch_data cannot be combined with a mask.")
        cache: dict = {}
        train = self._feed(X, mask, cache)
        if train.n == 0:  # it ran its epochs on nothing, with a training loss of 0
            raise ValueError("X has no rows to train on.")
        val = self._feed(X_val, mask_val, cache)
        if val is not None and val.n == 0:
            val = None
        if self.distributed:
            check_same_rows(train, "training data")
            if val is not None:
                check_same_rows(val, "validation data")
        if val is None:  # best weights kept by an earlier fit with validation data must not replace this run's
            self._best_state = None
        monitoring = "training" if val is None else "validation"
        if self._monitoring not in (None, monitoring):  # the best so far is the other loss's: not comparable
            self._best_value, self._bad_epochs = math.inf, 0
        self._monitoring = monitoring
        if self.scheduler is None:
            needs_steps = self.lr_schedule in ("cosine", "onecycle", "warmup_plateau")
            self.scheduler = self._make_scheduler(train.n_batches(self.batch_size) if needs_steps else 1)
        # process-wide: a fit in another thread overlapping this one must not restore the count in between
        with nullcontext() if self.num_threads is None else num_threads(self.num_threads):
            self._run(train, val, None if self.epoch_data is None else _n_features(X))
        if self._best_state is not None:
            self.net.load_state_dict(self._best_state)
        return self.result

    def fit_epoch(self, X, mask=None) -> TrainResult:
        """One more epoch over ``X``, with no validation and no early stopping (``partial_fit``).

        Successive calls carry the optimiser's state, the shuffling and
        noise generators and the loss curve over, so a stream of chunks
        trains as one long run over them. Sets ``max_epochs`` to
        ``epoch + 1``.

        Parameters
        ----------
        X : array-like, tensor or BatchSource of shape (n_samples, n_features)
            This epoch's data; anything :meth:`fit` accepts.
        mask : array-like or tensor of shape (n_samples, n_features), default=None
            1 for observed entries; see :meth:`fit`.

        Returns
        -------
        TrainResult
            :attr:`result`, with one more entry in ``loss_curve``.

        Raises
        ------
        TrainingDivergedError
            If the epoch made the loss or the weights non-finite (the
            state from before it is restored, as in :meth:`fit`).
        ValueError
            If ``lr_schedule`` is "cosine" or "onecycle": those span
            ``max_epochs`` epochs, which a run of single epochs does not
            know.
        """
        if self.lr_schedule in ("cosine", "onecycle"):
            raise ValueError(f"fit_epoch cannot follow lr_schedule={self.lr_schedule!r}, which spans max_epochs "
                             "epochs; use fit, or lr_schedule 'constant', 'plateau' or 'warmup_plateau'.")
        self.max_epochs = self.epoch + 1
        self._bad_epochs = 0
        self.result.stopped_early = False
        return self.fit(X, mask=mask)

    def _run(self, train, val, n_features: int | None = None) -> None:
        base = train
        per_step = self.lr_schedule in ("cosine", "onecycle")
        warming = isinstance(self.scheduler, WarmupPlateau)
        share = self._share()
        # a state saved after early stopping fired (a checkpoint at that epoch) must not train on
        self.result.stopped_early = self._bad_epochs >= self.n_iter_no_change
        while self.epoch < self.max_epochs and not self.result.stopped_early:
            tic = time.perf_counter()
            if self.epoch_data is not None:
                train = self._fresh_data(base, n_features, per_step)
            epoch_state = self._epoch_start()
            self.net.train()
            running = torch.zeros((), device=self.device)
            n_seen = 0
            perm = torch.randperm(train.n, generator=self.shuffle_generator) if train.shuffled else None
            for xb, mb, global_n, full in train.epoch(perm, self.batch_size, share):
                value = self._objective(xb, mb, self.noise_generator, share, full, global_n)
                self.optimizer.zero_grad(set_to_none=True)
                value.backward()
                self.optimizer.step()
                if per_step:
                    self.scheduler.step()
                elif warming:
                    self.scheduler.step_batch()
                running += value.detach() * (global_n if share is None else global_n / share[1])
                n_seen += global_n
            train_loss = float(dist_util.all_reduce_sum(running) / max(n_seen, 1))  # one sync per epoch
            self.epoch += 1
            val_loss = None
            if math.isfinite(train_loss) and val is not None:
                val_loss = self._validation_loss(val)
            why = self._diverged(train_loss, val_loss)
            if why:
                self._roll_back(epoch_state)
                raise TrainingDivergedError(
                    f"Training diverged at epoch {self.epoch + 1}: {why}. The weights from before that epoch "
                    f"were kept; try a lower learning_rate (now {self.learning_rate:g}) or scale the data."
                )
            self.result.loss_curve.append(train_loss)
            if val_loss is not None:
                self.result.validation_curve.append(val_loss)
            monitor = train_loss if val_loss is None else val_loss
            if self.lr_schedule in ("plateau", "warmup_plateau"):
                self.scheduler.step(monitor)
            stop = self._early_stopping(monitor, keep_best=val_loss is not None)
            self.result.n_iter = self.epoch
            logs = {"loss": train_loss, "val_loss": val_loss, "lr": self.optimizer.param_groups[0]["lr"],
                    "seconds": time.perf_counter() - tic}
            logger.debug("epoch %d %s", self.epoch, logs)
            if self.callback is not None and self.callback(self, self.epoch, logs):
                stop = True
            if self.distributed:
                stop = dist_util.broadcast_flag(stop, self.device)
            if stop:
                self.result.stopped_early = True
                break

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
