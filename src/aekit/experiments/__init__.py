"""Reproductions of published experiments, each one function writing a results folder.

hinton2006
    Deep autoencoder versus PCA on face patches and digits (Hinton &
    Salakhutdinov, *Science* 2006): ``aekit reproduce hinton2006``.
"""

#: Experiments by the name ``aekit reproduce`` takes.
EXPERIMENTS = {"hinton2006": "aekit.experiments.hinton2006"}

__all__ = ["EXPERIMENTS"]
