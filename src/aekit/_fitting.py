"""How an :class:`~aekit.Autoencoder` trains: data split, network, trainer, fitted attributes.

``Autoencoder._fit`` hands its validated data here. :func:`fit_run` is a
whole ``fit`` (validation split, checkpoints, pretraining, early stopping,
warm start); :func:`fit_epoch` is one ``partial_fit`` call, whose trainer
state is kept on the estimator between calls. Both build one
:class:`aekit.training.Trainer` from the estimator's parameters and hooks.
"""

from __future__ import annotations

import copy
import time

import numpy as np
import torch
from sklearn.utils import check_random_state

from ._callbacks import Progress as _Progress  # patched by benchmarks/throughput.py
from ._callbacks import chain, time_budget
from .distributed import broadcast_flag, is_distributed, is_main_process, shared_seed
from ._torch_globals import seeded
from .pretraining import pretrain
from .streaming import ArraySource, Batches
from .training import Trainer, TrainingDivergedError, resolve_device

__all__ = ["check_partial_state", "fit_epoch", "fit_run", "new_net", "pretrain_net", "set_fitted", "split_seeds"]


def split_seeds(est, device: torch.device | str = "cpu"):
    """``(rng, [init_seed, train_seed])`` from the estimator's ``random_state``; without one under ``torchrun``,
    from rank 0's draw on every rank (``device``: where the draw is sent, a GPU for nccl)."""
    random_state = est.random_state
    if random_state is None and is_distributed():  # each rank's own draw: its own validation split and batches
        random_state = shared_seed(device)
    rng = check_random_state(random_state)
    return rng, [int(s) for s in rng.randint(0, 2**31 - 1, size=2)]


def fit_run(est, X, mask: np.ndarray | None = None):
    """Train on validated float32 X (or a streamed source); ``mask`` marks observed entries (1) if given."""
    tic = time.perf_counter()
    device = resolve_device(est.device)
    rng, (init_seed, train_seed) = split_seeds(est, device)
    if est.__dict__.get("_partial"):  # set by partial_fit
        return fit_epoch(est, X, mask, init_seed, train_seed, device, tic)
    checkpoints = est.__dict__.get("_checkpointing")  # set by fit(checkpoint_dir=...)
    if isinstance(X, Batches):  # no random access: validation only if the source brings it
        if checkpoints is not None:
            raise ValueError("checkpoint_dir needs array data (an array or a memory-mapped .npy), "
                             "not an iterable of batches.")
        train_data, val_data, n_features = X, X.validation, X.n_features
    else:
        # rows are selected by index, not copied: a memmap stays on disk, an array in place
        source = X if isinstance(X, ArraySource) else ArraySource(
            X, None if mask is None else np.ascontiguousarray(mask, dtype=np.float32))
        n, n_features = source.n_samples, source.n_features
        n_val = int(round(est.validation_fraction * n))
        if n_val >= n:
            n_val = 0
        perm = rng.permutation(n)
        val_idx, train_idx = np.sort(perm[:n_val]), np.sort(perm[n_val:])
        if checkpoints is not None:
            if source.indices is not None:
                raise ValueError("checkpoint_dir needs the whole array, not an ArraySource of some of its rows.")
            val_idx, train_idx = checkpoints.begin(est, source.X, source.mask, val_idx, train_idx)
            n_val = val_idx.size
        train_data = source.subset(train_idx) if n_val else source
        val_data = source.subset(val_idx) if n_val else None
    warm = est._warm()
    net = est.net_ if warm else new_net(est, n_features, init_seed)
    if est.pretraining != "none" and not warm and (checkpoints is None or checkpoints.state is None):
        # not when resuming, nor when warm-starting
        try:
            est._pretrain(net, train_data, init_seed + 1, device)  # a hook: SparseAutoencoder adjusts after it
        except KeyboardInterrupt:
            # stopped before training began: no network goes with this data's n_features_in_ and scaling (an old
            # net_ from another fit would), so the estimator is left unfitted
            for name in [k for k in vars(est) if k.endswith("_") and not k.startswith("_")] + ["_partial_state"]:
                est.__dict__.pop(name, None)
            raise
    if checkpoints is not None:  # a resumed fit's time budget (max_time) and fit_time_ count the time before
        tic -= checkpoints.seconds_before
    # only rank 0 shows progress under torchrun
    progress = _Progress(est.max_epochs) if est.verbose and is_main_process() else None
    if progress is not None and est.max_time is not None and hasattr(progress, "set_time_budget"):
        progress.set_time_budget(est.max_time, tic)  # the bar counts to the epochs the budget leaves room for
    callbacks = chain(progress, est._fit_callback(), time_budget(est.max_time, tic))
    trainer = Trainer(
        net,
        loss=est.loss,
        penalty=est._make_penalty(),
        corruption=est._make_corruption(),
        optimizer=est.optimizer,
        learning_rate=est.learning_rate,
        weight_decay=est.weight_decay,
        momentum=est.momentum,
        lr_schedule=est.lr_schedule,
        batch_size=est.batch_size,
        max_epochs=est.max_epochs,
        n_iter_no_change=est.n_iter_no_change,
        tol=est.tol,
        device=device,
        precision=est.precision,
        seed=train_seed,
        # the checkpoint is written after the callbacks that may stop training (max_time), so that it knows
        callback=(callbacks if checkpoints is None else checkpoints.callback(callbacks)),
        epoch_data=est._epoch_data(),
    )
    try:
        if checkpoints is not None:
            checkpoints.resume(trainer, train_data.n_samples, progress)
            spent = est.max_time is not None and trainer.epoch and time.perf_counter() - tic >= est.max_time
            if trainer.distributed:  # rank 0 decides, as after each epoch: a rank that trained on alone would wait
                spent = broadcast_flag(spent, trainer.device)  # for the others' gradients until the timeout
            if spent:
                trainer.max_epochs = trainer.epoch  # the budget ran out before: a rerun (a requeue) trains no further
        trainer.fit(train_data, val_data)
    except TrainingDivergedError:
        set_fitted(est, trainer, device, time.perf_counter() - tic)
        est.best_epoch_ = est.n_iter_  # net_ holds the weights from before the diverging epoch
        raise
    except KeyboardInterrupt:
        # Ctrl-C or a notebook's stop button: keep what was trained (the best epoch's weights, as max_time
        # does), so that the model matches n_features_in_ and the scaling, and warm_start can continue
        if trainer._best_state is not None:
            trainer.net.load_state_dict(trainer._best_state)
        set_fitted(est, trainer, device, time.perf_counter() - tic)
        raise
    finally:
        if progress is not None:
            progress.close()
    set_fitted(est, trainer, device, time.perf_counter() - tic)
    if checkpoints is not None:  # (after an error, checkpointing() restores them on its way out)
        checkpoints.signals.restore()  # a signal that came after the last epoch's check is raised again here
    return est


def new_net(est, n_features: int, seed: int) -> torch.nn.Module:
    """The estimator's network for ``n_features`` inputs, initialised from ``seed`` (global RNG untouched)."""
    if est.image_shape is not None:  # an MLP's too: figures draw its rows in that shape, so it must hold them
        est._image_shape_for(n_features)
    with seeded(seed):  # under a lock: fits in other threads draw their own seeds' weights
        return est._build_net(n_features)


def fit_epoch(est, X, mask, init_seed: int, train_seed: int, device, tic: float):
    """``partial_fit``'s epoch: one pass over X, the optimiser state carried over from the last call."""
    state = est.__dict__.get("_partial_state")
    fitted = hasattr(est, "net_")
    if isinstance(X, Batches):
        data = X
    else:
        data = X if isinstance(X, ArraySource) else ArraySource(
            X, None if mask is None else np.ascontiguousarray(mask, dtype=np.float32))
    net = est.net_ if fitted else new_net(est, data.n_features, init_seed)
    trainer = _epoch_trainer(est, net, device, train_seed)
    seconds = 0.0
    if state is not None:
        _restore(est, trainer, state, train_seed)
        seconds = est.fit_time_
    elif fitted:  # after fit, or load of a model saved without partial_fit's state: a fresh optimiser
        trainer.result.loss_curve = list(est.loss_curve_)
        trainer.result.validation_curve = list(est.validation_scores_)
        trainer.epoch = trainer.result.n_iter = est.n_iter_
        seconds = est.fit_time_
    try:
        trainer.fit_epoch(data)
    except KeyboardInterrupt:
        # stopped mid-epoch (Ctrl-C, a notebook's stop button): the weights moved, so the optimiser state and
        # generators the next call starts from must be the ones that moved them
        est._partial_state = dict(trainer.state_dict(), optimizer_name=est.optimizer)
        raise
    finally:
        set_fitted(est, trainer, device, seconds + time.perf_counter() - tic)
    est._partial_state = dict(trainer.state_dict(), optimizer_name=est.optimizer)
    return est


def _epoch_trainer(est, net, device, train_seed: int, **settings) -> Trainer:
    """The trainer of one ``partial_fit`` call: one epoch at the constant ``learning_rate``."""
    settings = {"precision": est.precision, **settings}
    return Trainer(
        net, loss=est.loss, penalty=est._make_penalty(), corruption=est._make_corruption(),
        optimizer=est.optimizer, learning_rate=est.learning_rate, weight_decay=est.weight_decay,
        momentum=est.momentum, lr_schedule="constant", batch_size=est.batch_size, max_epochs=1,
        n_iter_no_change=est.n_iter_no_change, tol=est.tol, device=device, seed=train_seed, **settings,
    )


def _restore(est, trainer: Trainer, state: dict, train_seed: int) -> None:
    """Load the last ``partial_fit`` call's ``state`` into ``trainer``, under this call's step size."""
    fresh = trainer.optimizer.state_dict()
    settings = fresh["param_groups"]  # this call's learning_rate, weight_decay...
    if state.get("optimizer_name", est.optimizer) != est.optimizer:
        state = {**state, "optimizer": fresh}  # another optimiser (set_params): the old moments mean nothing to it
    if state["noise_generator"].numel() != trainer.noise_generator.get_state().numel():
        # saved on another kind of device (a CUDA generator's state is not a CPU one's): set_params(device=...)
        # or a pickle opened elsewhere; the noise goes on from a seed of its own, still reproducible
        noise = torch.Generator(device=trainer.device).manual_seed(train_seed + 1 + int(state["epoch"]))
        state = {**state, "noise_generator": noise.get_state()}
    trainer.load_state_dict(state, steps_per_epoch=1)
    for group, setting in zip(trainer.optimizer.param_groups, settings):
        # the saved moments carry over, not the saved step size: set_params between calls is a schedule
        group.update({k: v for k, v in setting.items() if k != "params"})


def check_partial_state(est, state: dict) -> None:
    """Refuse a ``partial_fit`` state (read from a model file) that the next call could not continue from.

    Loads it into a trainer of a copy of ``est.net_``, as the next ``partial_fit`` will: the optimiser's
    buffers must fit the network, the generators' states must be theirs.
    """
    if not isinstance(state, dict):
        raise ValueError(f"expected a trainer state, got {type(state).__name__}")
    net = copy.deepcopy(est.net_)
    # no DDP wrapper (a collective) nor the bfloat16 speed warning: the optimiser's state is the same under both
    trainer = _epoch_trainer(est, net, next(net.parameters()).device, 0, precision="float32", distributed=False)
    _restore(est, trainer, state, 0)


def pretrain_net(est, net, train_data, seed: int, device) -> None:
    """Greedy layer-wise pretraining of ``net`` on the training rows (unobserved entries zeroed)."""
    if isinstance(train_data, Batches):
        raise ValueError(f"pretraining={est.pretraining!r} needs array data (an array or a memory-mapped "
                         ".npy), not an iterable of batches; use pretraining='none'.")
    # a memory-mapped file is streamed a minibatch at a time (aekit._layer_data); in-memory data comes in whole
    # (unobserved entries zeroed)
    pretrain(net, train_data, est.pretraining, activation=est.activation,
             output_activation=est._resolved_output_activation(), epochs=est._pretraining_epochs(),
             batch_size=est.batch_size, seed=seed, device=device, precision=est.precision)


def set_fitted(est, trainer: Trainer, device: torch.device, seconds: float) -> None:
    """Copy the trainer's network and history onto the estimator's fitted attributes."""
    result = trainer.result
    est.net_ = trainer.net.eval()
    est.loss_curve_ = list(result.loss_curve)
    est.validation_scores_ = list(result.validation_curve)
    est.n_iter_ = int(result.n_iter)
    est.best_epoch_ = int(result.best_epoch)
    est.fit_time_ = float(seconds)
    est.device_ = str(device)
