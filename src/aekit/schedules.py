"""Learning-rate schedules beyond PyTorch's own: a linear warm-up followed by reduce-on-plateau.

:class:`aekit.training.Trainer` builds the schedules named in
:data:`aekit.training.LR_SCHEDULES`; this module holds the one PyTorch does
not have.
"""

from __future__ import annotations

import torch

__all__ = ["WARMUP_STEPS", "WarmupPlateau"]

#: Length of the linear learning-rate warm-up of "warmup_plateau", in optimiser steps.
WARMUP_STEPS = 200


class WarmupPlateau(torch.optim.lr_scheduler.ReduceLROnPlateau):
    """Linear warm-up over ``warmup_steps`` batches, then :class:`~torch.optim.lr_scheduler.ReduceLROnPlateau`.

    Adam with a high step size from the first batch wrecks a deep ReLU net
    before its second-moment estimates settle; a short ramp lets the
    learning rate be high afterwards. :meth:`step_batch` is called after
    every optimiser step, :meth:`step` with the monitored loss after every
    epoch. The warm-up position is part of :meth:`state_dict`.

    Parameters
    ----------
    optimizer : torch.optim.Optimizer
        Its current learning rates are the targets of the ramp; they are
        set to ``1 / warmup_steps`` of them at once.
    warmup_steps : int
        Batches of the ramp (at least 1).
    **kwargs
        Passed to :class:`~torch.optim.lr_scheduler.ReduceLROnPlateau`
        (``factor``, ``patience``...).
    """

    def __init__(self, optimizer, warmup_steps: int, **kwargs):
        super().__init__(optimizer, **kwargs)
        self.warmup_steps = max(1, int(warmup_steps))
        self.target_lrs = [group["lr"] for group in optimizer.param_groups]
        self.batches = 0
        self._set(1)

    def _set(self, position: int) -> None:
        frac = min(1.0, position / self.warmup_steps)
        for group, lr in zip(self.optimizer.param_groups, self.target_lrs):
            group["lr"] = lr * frac
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def step(self, metrics, epoch=None) -> None:
        """End of an epoch: :class:`~torch.optim.lr_scheduler.ReduceLROnPlateau`'s step.

        Parameters
        ----------
        metrics : float
            The monitored loss of the epoch.
        epoch : int, default=None
            Passed on (deprecated by PyTorch).
        """
        super().step(metrics, epoch)
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def load_state_dict(self, state_dict) -> None:
        """Restore, and put the saved learning rate back whether or not the optimiser was loaded first.

        Parameters
        ----------
        state_dict : dict
            A :meth:`state_dict` of a scheduler over the same optimiser
            parameter groups.
        """
        super().load_state_dict(state_dict)
        for group, lr in zip(self.optimizer.param_groups, self._last_lr):
            group["lr"] = lr

    def step_batch(self) -> None:
        """After an optimiser step: move the ramp one batch on (nothing once it is complete)."""
        self.batches += 1
        if self.batches < self.warmup_steps:
            self._set(self.batches + 1)
        elif self.batches == self.warmup_steps:
            self._set(self.warmup_steps)
