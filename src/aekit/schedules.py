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

    def step(self, metrics, epoch=None) -> None:  # noqa: D102 (ReduceLROnPlateau's)
        super().step(metrics, epoch)
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def load_state_dict(self, state_dict) -> None:
        """Restore, and put the saved learning rate back whether or not the optimiser was loaded first."""
        super().load_state_dict(state_dict)
        for group, lr in zip(self.optimizer.param_groups, self._last_lr):
            group["lr"] = lr

    def step_batch(self) -> None:
        self.batches += 1
        if self.batches < self.warmup_steps:
            self._set(self.batches + 1)
        elif self.batches == self.warmup_steps:
            self._set(self.warmup_steps)
