"""Checks and conversions behind :meth:`Trainer.state_dict <aekit.training.Trainer.state_dict>` and its loading."""

from __future__ import annotations

import copy
import logging

import torch

# records keep the name of the public module whose Trainer loads the state (as cli/* log as "aekit.cli")
logger = logging.getLogger("aekit.training")


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
