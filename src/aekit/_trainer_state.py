"""A :class:`~aekit.training.Trainer`'s state: what it saves, restores and rolls back to.

:class:`TrainResult` (the curves and stopping information), :class:`TrainerStateMixin` (``state_dict`` /
``load_state_dict``, the snapshot taken before each epoch for a diverged one to roll back to) and the checks and
conversions behind loading a saved state.
"""

from __future__ import annotations

import copy
import logging
import math
from dataclasses import dataclass, field

import torch

# records keep the name of the public module whose Trainer loads the state (as cli/* log as "aekit.cli")
logger = logging.getLogger("aekit.training")


@dataclass
class TrainResult:
    """What a training run produced.

    :meth:`Trainer.fit <aekit.training.Trainer.fit>` returns one; each parameter is an attribute of the
    same name.

    Parameters
    ----------
    loss_curve : list of float, optional
        Mean training objective per epoch (loss plus penalty, on corrupted
        inputs when there is corruption). Empty by default.
    validation_curve : list of float, optional
        Mean validation objective per epoch, with fixed noise (empty without
        validation data).
    n_iter : int, default=0
        Epochs run, counting those of earlier calls when resumed.
    best_epoch : int, default=0
        1-based epoch whose weights the network holds at the end: the best
        validation epoch with validation data, else the last epoch.
    stopped_early : bool, default=False
        Whether early stopping (or the callback) ended training before
        ``max_epochs``.
    """

    loss_curve: list = field(default_factory=list)
    validation_curve: list = field(default_factory=list)
    n_iter: int = 0
    best_epoch: int = 0
    stopped_early: bool = False




def _check_scheduler_state(scheduler, state: dict) -> None:
    """Refuse a loaded scheduler state that would replace more than the scheduler's numbers.

    torch's schedulers load with ``__dict__.update``: a crafted ``{"optimizer": 1}`` replaced the optimiser, and a
    key naming a method would shadow it. Keys the scheduler does not have yet are let through: another torch
    version's (2.2's ReduceLROnPlateau has no ``default_min_lr`` and sets ``_last_lr`` only when it first steps).
    """
    for key in state:
        current = scheduler.__dict__.get(key, getattr(type(scheduler), key, None))
        if (not isinstance(key, str) or key.startswith("__") or callable(current)
                or isinstance(current, torch.optim.Optimizer)):
            raise ValueError(f"the scheduler state holds {key!r}, which would replace a "
                             f"{type(scheduler).__name__}'s {type(current).__name__}, not one of its numbers")


def _check_optimizer_state(optimizer) -> None:
    """Refuse a loaded optimiser state whose buffers differ in shape from their parameters.

    torch's fused CPU kernels (Adam, AdamW, SGD) do not check: an ``exp_avg``
    of 7 numbers for a parameter of 20 is read and written past its end (a
    crafted checkpoint corrupted the heap: "free(): invalid next size").
    """
    for group in optimizer.param_groups:
        for param in group["params"]:
            for name, value in optimizer.state.get(param, {}).items():
                if name == "step":  # a count: a scalar tensor, or a number in older torch
                    ok = not isinstance(value, torch.Tensor) or value.numel() == 1
                else:  # exp_avg, exp_avg_sq, max_exp_avg_sq, momentum_buffer (None until SGD's first step)
                    ok = value is None or (isinstance(value, torch.Tensor) and value.shape == param.shape)
                if not ok:
                    shape = list(value.shape) if isinstance(value, torch.Tensor) else type(value).__name__
                    raise ValueError(f"the optimiser state {name!r} is {shape} for a parameter of shape "
                                     f"{list(param.shape)}")


def _scheduler_state(scheduler) -> dict:
    """The scheduler's state without functions: older torch's OneCycleLR (2.2) keeps its annealing method in it
    (no checkpoint can hold one), and the scheduler rebuilt on resume has the same method from its settings."""
    return copy.deepcopy({k: v for k, v in scheduler.state_dict().items() if not callable(v)})


def _set_noise_state(generator, state: torch.Tensor, device: torch.device) -> None:
    """Restore the noise generator, or keep it freshly seeded if ``state`` is another device kind's.

    A CPU generator's state (Mersenne Twister, 5056 bytes) and a CUDA one's
    (Philox seed and offset, 16 bytes) cannot stand for each other: a run
    resumed on the other kind cannot draw the noise it would have drawn.
    """
    if state.numel() == generator.get_state().numel():
        generator.set_state(state)
        return
    theirs = "cpu" if state.numel() == torch.Generator().get_state().numel() else "cuda"
    logger.warning("the checkpoint's noise generator is a %s generator and this run's a %s one, which cannot take "
                   "its state: corruption noise, random projections and a VAE's draws of z restart from the seed, "
                   "so the resumed fit is not bit for bit the one an uninterrupted run would give (the weights, "
                   "optimiser, schedule and data order are restored)", theirs, device.type)


class TrainerStateMixin:
    """:class:`~aekit.training.Trainer`'s state: saved, restored, and rolled back after a diverged epoch.

    Works on the trainer's ``net``, ``optimizer``, ``scheduler`` (rebuilt by ``_make_scheduler``), both
    generators, ``epoch``, ``result`` and early-stopping state (``_best_value``, ``_best_state``,
    ``_bad_epochs``, ``_monitoring``).
    """

    def _epoch_start(self) -> dict:
        """What an epoch changes (weights, optimiser and schedule states, generators, the count), for
        :meth:`_roll_back`."""
        opt = self.optimizer.state_dict()  # its tensors cloned one by one: a deepcopy took 3 times as long
        opt = {"state": {i: {k: v.clone() if isinstance(v, torch.Tensor) else copy.deepcopy(v) for k, v in st.items()}
                         for i, st in opt["state"].items()}, "param_groups": copy.deepcopy(opt["param_groups"])}
        return {"net": self._snapshot(), "optimizer": opt,
                # as state_dict saves it (without torch 2.2 OneCycleLR's annealing function, which loading keeps)
                "scheduler": None if self.scheduler is None else _scheduler_state(self.scheduler),
                "shuffle": self.shuffle_generator.get_state(), "noise": self.noise_generator.get_state(),
                "epoch": self.epoch}

    def _roll_back(self, state: dict) -> None:
        """Put back the :meth:`_epoch_start` state: a diverged epoch leaves no trace (NaN moments, a step count)."""
        self.net.load_state_dict(state["net"])
        self.optimizer.load_state_dict(state["optimizer"])
        if state["scheduler"] is not None:
            self.scheduler.load_state_dict(state["scheduler"])
        self.shuffle_generator.set_state(state["shuffle"])
        self.noise_generator.set_state(state["noise"])
        self.epoch = state["epoch"]

    def _snapshot(self) -> dict:
        return {k: v.detach().clone() for k, v in self.net.state_dict().items()}

    # ----------------------------------------------------------- checkpoint
    def state_dict(self) -> dict:
        """Everything needed to continue training exactly where it stopped.

        Returns
        -------
        dict
            Copies (not views) of the network's weights, the optimiser's
            and schedule's states, both random generators' states, the epoch
            count, the :class:`TrainResult` fields and the early-stopping
            state (best value, best weights, epochs without improvement).
            Tensors stay on their device; :mod:`aekit.checkpoint` writes
            them to disk.
        """
        return {
            "net": self._snapshot(),
            "optimizer": copy.deepcopy(self.optimizer.state_dict()),
            "scheduler": None if self.scheduler is None else _scheduler_state(self.scheduler),
            "shuffle_generator": self.shuffle_generator.get_state(),
            "noise_generator": self.noise_generator.get_state(),
            "epoch": self.epoch,
            "result": copy.deepcopy(self.result.__dict__),
            "best_value": self._best_value,
            "best_state": self._best_state,
            "bad_epochs": self._bad_epochs,
        }

    def load_state_dict(self, state: dict, steps_per_epoch: int) -> None:
        """Restore a :meth:`state_dict`, so that :meth:`fit` continues the saved run.

        The trainer must have been built with the same network shape and
        settings as the one that saved ``state``.

        Parameters
        ----------
        state : dict
            A :meth:`state_dict` of a trainer with the same network and
            settings.
        steps_per_epoch : int
            Batches per epoch of the data the run continues on: rebuilds the
            per-step schedules ("cosine", "onecycle", "warmup_plateau")
            before their saved state is loaded into them.

        Notes
        -----
        A noise generator state saved on the other device kind (CPU vs
        CUDA) cannot be restored; the noise then restarts from the seed and a
        warning is logged.
        """
        self.net.load_state_dict(state["net"])
        # scheduler first: building one (OneCycleLR) resets the optimiser's lr and momentum,
        # which the optimiser's saved state then restores
        self.scheduler = self._make_scheduler(steps_per_epoch)
        self.optimizer.load_state_dict(state["optimizer"])
        _check_optimizer_state(self.optimizer)
        if self.scheduler is not None and state["scheduler"] is not None:
            _check_scheduler_state(self.scheduler, state["scheduler"])
            self.scheduler.load_state_dict(state["scheduler"])
        self.shuffle_generator.set_state(state["shuffle_generator"])  # always a CPU generator
        _set_noise_state(self.noise_generator, state["noise_generator"], self.device)
        self.epoch = int(state["epoch"])
        self.result = TrainResult(**copy.deepcopy(state["result"]))
        self._best_value = float(state["best_value"])
        best, ours = state["best_state"], self.net.state_dict()
        if best is not None and (not isinstance(best, dict) or set(best) != set(ours) or any(
                not isinstance(best[k], torch.Tensor) or best[k].shape != v.shape for k, v in ours.items())):
            raise ValueError("the best weights kept for early stopping do not fit the network")
        self._best_state = best
        self._bad_epochs = int(state["bad_epochs"])
        # only a validation run keeps best weights; a finite best without them was a training loss
        self._monitoring = "validation" if best is not None else (
            "training" if math.isfinite(self._best_value) else None)
