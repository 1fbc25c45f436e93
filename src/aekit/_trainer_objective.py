"""The objective a :class:`~aekit.training.Trainer` minimises, and its evaluation with fixed noise.

:class:`_Step` is the network's forward pass as one call (for DDP and torch.compile); :class:`ObjectiveMixin`
computes the loss plus penalty of a batch (this rank's share of it under data parallelism) and evaluates it
over a whole dataset with seeded noise, so that epochs compare.
"""

from __future__ import annotations

import torch
from torch import nn

from . import distributed as dist_util
from ._device import _autocast
from ._feed import Feed, RowsRead, Sequential


#: Seeds the noise of :meth:`ObjectiveMixin.evaluate` (corruption, code draws): the same in every epoch.
EVAL_SEED = 12345


class _Step(nn.Module):
    """Wrap ``encode``/``decode`` in one ``forward`` so DDP and compile see a single call.

    A net with a stochastic encoder defines ``encode_train(x, generator) -> (code, z)``: ``z`` (drawn with
    ``generator``) is decoded and ``code`` goes to the penalty (a variational autoencoder's [mu, logvar]).
    """

    def __init__(self, net: nn.Module, from_logits: bool):
        super().__init__()
        self.net = net
        self.from_logits = from_logits
        self.stochastic = hasattr(net, "encode_train")

    def forward(self, x: torch.Tensor, generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        if self.stochastic:
            code, z = self.net.encode_train(x, generator)
        else:
            code = z = self.net.encode(x)  # (batch, n_components)
        out = self.net.decode_logits(z) if self.from_logits else self.net.decode(z)
        return code, out


class ObjectiveMixin:
    """:class:`~aekit.training.Trainer`'s objective: a batch's loss plus penalty, and :meth:`evaluate`.

    Works on the trainer's ``loss``, ``penalty``, ``corruption``, ``step_module`` (``_eval_module`` when
    evaluating), ``device``, ``autocast_dtype``, ``batch_size`` and ``_feed``.
    """

    def _objective(self, x: torch.Tensor, mask: torch.Tensor | None, generator, share=None, full=True,
                   global_n=None) -> torch.Tensor:
        """Mean loss on a batch; with ``share``, this rank's part of the global-batch mean.

        Under data parallelism the returned value is scaled so that DDP's
        average of the ranks' gradients is the gradient of the loss on the
        whole global batch, and the sum over ranks of ``value / world`` is
        that loss.
        """
        x_in = x if mask is None else x * mask
        if self.corruption is not None:
            x_in = self.corruption(x_in, generator)
            if tuple(x_in.shape) != tuple(x.shape):  # else a broadcasting warning or a matmul error deep in the net
                raise ValueError(f"corruption must return a tensor of its input's shape {tuple(x.shape)}; "
                                 f"got {tuple(x_in.shape)}.")
        weight = None
        if share is not None:
            rank, world, _ = share
            lo, hi = dist_util.shard_bounds(global_n, rank, world)
            if mask is not None and full:
                weight = mask[lo:hi].sum() * world / mask.sum().clamp_min(1.0)
            elif mask is not None:  # this rank holds its rows only: the observed count of the others comes in
                local = mask.sum()
                weight = local * world / dist_util.all_reduce_sum(local.detach().clone()).clamp_min(1.0)
            else:
                weight = (hi - lo) * world / max(global_n, 1)
            if full:
                x, x_in = x[lo:hi], x_in[lo:hi]
                mask = None if mask is None else mask[lo:hi]
            if self._eval_module.stochastic or self._penalty_needs_input:
                generator = self._rank_generator(generator, rank)
        if self._penalty_needs_input:
            x_in = x_in.detach().requires_grad_(True)
        with _autocast(self.device, self.autocast_dtype):
            # a stochastic encoder draws from the seeded (checkpointed) generator; others get none (compile guards)
            code, out = self.step_module(x_in, generator) if self._eval_module.stochastic else self.step_module(x_in)
        if x.shape[0] == 0:
            return out.sum() * 0.0  # an empty share still joins the gradient all-reduce
        value = self.loss.fn(out.float(), x, mask)
        if self.penalty is not None:
            extra = self.penalty(code.float(), x_in, generator) if self._penalty_needs_input else \
                self.penalty(code.float())
            if tuple(getattr(extra, "shape", ())) != ():  # it would broadcast the loss into a non-scalar
                raise ValueError(f"penalty must return a scalar tensor; got one of shape {tuple(extra.shape)} "
                                 "(reduce it, e.g. with .mean()).")
            value = value + extra
        return value if weight is None else value * weight

    def _rank_generator(self, generator: torch.Generator, rank: int) -> torch.Generator:
        """A generator for this rank's own draws (a VAE's ``eps``, contraction projections) in one step.

        Drawn for the rank's share of the batch from the shared ``generator``, they advanced it by a count
        that differs between ranks when the shares differ (49 rows: 25 and 24), so the ranks' generators
        went apart and a checkpoint (rank 0's) resumed the others from a state they never had; with equal
        shares every rank drew the same numbers for its rows. The shared generator now advances by one draw
        on every rank, and each rank draws from a seed of its own (one generator object, reseeded: the
        same object in every step for torch.compile's guards).
        """
        seed = int(torch.randint(0, 2**62, (1,), generator=generator, device=generator.device))
        if self._own_draws is None:
            self._own_draws = torch.Generator(device=generator.device)
        return self._own_draws.manual_seed(seed + rank)

    def evaluate(self, X, mask=None, seed: int = EVAL_SEED) -> float:
        """Mean objective on ``X`` with fixed corruption noise and code draws (comparable across epochs).

        Every rank evaluates all of ``X``, so all ranks agree without
        communicating. Gradients are off, unless the penalty differentiates
        the code (``needs_input``). The network is left in eval mode.

        Parameters
        ----------
        X : array-like, tensor or BatchSource of shape (n_samples, n_features)
            Anything :meth:`fit` accepts.
        mask : array-like or tensor of shape (n_samples, n_features), default=None
            1 for observed entries: only they count, and the others are
            zeroed at the input. None counts every entry.
        seed : int, default=12345
            Seeds the corruption noise and code draws, so that two calls
            (two epochs) see the same noise.

        Returns
        -------
        float
            The loss plus penalty averaged over samples (each batch's mean
            weighted by its size).
        """
        with torch.set_grad_enabled(self._penalty_needs_input):
            return self._evaluate(X, mask, seed)

    def _validation_loss(self, val: Feed) -> float:
        """:meth:`evaluate` on the validation feed. Under DDP a validation iterable is compared between the ranks
        as it is read (:func:`check_same_rows` compares arrays up front): ranks evaluating different rows would
        part in their plateau schedules and best weights."""
        rows_read = RowsRead(self.device) if self.distributed and isinstance(val, Sequential) else None
        with torch.set_grad_enabled(self._penalty_needs_input):  # as evaluate
            loss = self._evaluate(val, None, EVAL_SEED, rows_read)
        if rows_read is not None:
            rows_read.check_same_on_all_ranks("validation data")
        return loss

    def _evaluate(self, X, mask, seed: int, rows_read: RowsRead | None = None) -> float:
        feed = X if isinstance(X, Feed) else self._feed(X, mask, {})
        self.net.eval()
        generator = torch.Generator(device=self.device).manual_seed(seed)
        total = torch.zeros((), device=self.device)
        n = 0
        step_module, self.step_module = self.step_module, self._eval_module  # no DDP hooks, no recompiles
        try:
            for xb, mb in feed.chunks(4 * self.batch_size):
                total += self._objective(xb, mb, generator).detach() * xb.shape[0]
                n += xb.shape[0]
                if rows_read is not None:
                    rows_read.add(xb)
        finally:
            self.step_module = step_module
        return float(total / max(n, 1))
