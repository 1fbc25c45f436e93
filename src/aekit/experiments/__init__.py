"""Reproductions of published experiments, each one function writing a results folder.

hinton2006
    Deep autoencoder versus PCA on face patches and digits (Hinton &
    Salakhutdinov, *Science* 2006): ``aekit reproduce hinton2006``.
augment
    Per-epoch training-data sources (fresh face patches, mirrored images).
budget
    A Trainer callback that trains within a wall-clock budget.
"""

#: Experiments by the name ``aekit reproduce`` takes.
EXPERIMENTS = {"hinton2006": "aekit.experiments.hinton2006"}

__all__ = ["EXPERIMENTS"]
