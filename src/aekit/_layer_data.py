"""The data each layer of greedy pretraining trains on (:mod:`aekit.pretraining`).

The first layer trains on X; each next one on the layer below's output. In
memory that is a tensor computed once per layer; from a memory-mapped file
(an :class:`~aekit.streaming.ArraySource`) it is computed a minibatch at a
time, so the data set is never in memory whole.
"""

from __future__ import annotations

import numpy as np
import torch

from .streaming import ArraySource

__all__ = ["layer_data", "next_layer_data"]


class _StreamedRows:
    """A layer's training data read from an :class:`~aekit.streaming.ArraySource` (a memory-mapped file) a
    minibatch at a time and passed through the trained layers below it, so that the data set (or a hidden
    layer's view of it) is never in memory whole. It offers what the layer trainers use of a tensor:
    ``shape``, ``device``, ``V[idx]`` and ``V.mean(0)``."""

    def __init__(self, source: ArraySource, device, below=None):
        self.source, self.device, self.below = source, torch.device(device), below  # below: the trained layers
        width = source.n_features
        if below is not None:
            width = int(below(torch.zeros(1, source.n_features, device=self.device)).shape[1])
        self.shape = (source.n_samples, width)

    @torch.no_grad()
    def _through(self, x, m) -> torch.Tensor:
        v = torch.from_numpy(x if m is None else x * m).to(self.device)  # unobserved entries zeroed
        return v if self.below is None else self.below(v)

    def __getitem__(self, idx: torch.Tensor) -> torch.Tensor:
        return self._through(*self.source.take(idx.cpu().numpy()))

    def mean(self, dim: int) -> torch.Tensor:
        assert dim == 0
        # MPS has no float64: there each block is summed in float32 and the total kept on the CPU
        on_mps = self.device.type == "mps"
        total = torch.zeros(self.shape[1], dtype=torch.float64, device="cpu" if on_mps else self.device)
        for x, m in self.source.chunks(4096):  # rows at a time
            rows = self._through(x, m)
            total += rows.sum(0).cpu().double() if on_mps else rows.double().sum(0)
        return (total / max(self.shape[0], 1)).float().to(self.device)

    def then(self, layer) -> "_StreamedRows":
        """The next layer's data: these rows passed through ``layer`` too."""
        return _StreamedRows(self.source, self.device, layer if self.below is None else _Stack(self.below, layer))


class _Stack:
    """``top(below(v))``: the trained layers under the next one, applied to each minibatch."""

    def __init__(self, below, top):
        self.below, self.top = below, top

    def __call__(self, v):
        return self.top(self.below(v))


def layer_data(X, device):
    """The first layer's data: a memory-mapped source streamed, anything else as a float32 tensor on ``device``."""
    if isinstance(X, ArraySource) and isinstance(X.X, np.memmap):
        return _StreamedRows(X, device)
    if isinstance(X, ArraySource):
        X = np.concatenate([x if m is None else x * m for x, m in X.chunks()])
    return torch.as_tensor(X, dtype=torch.float32).to(device)


def next_layer_data(V, layer):
    """What the next layer trains on: ``layer(V)``, computed now for a tensor, a minibatch at a time if streamed."""
    return V.then(layer) if isinstance(V, _StreamedRows) else layer(V)


def _minibatches(n: int, batch_size: int, generator: torch.Generator):
    """One epoch's shuffled minibatches of row indices into a layer's ``n`` rows (both pretraining stacks')."""
    return torch.split(torch.randperm(n, generator=generator, device=generator.device), batch_size)
