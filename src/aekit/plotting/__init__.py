"""Figures for autoencoder experiments.

Every function builds a :class:`matplotlib.figure.Figure` directly (never
through ``pyplot``), so no global state is touched and no display is needed.
With ``path=None`` the figure is returned (a Jupyter cell that ends with
the call shows it inline; nothing is drawn in a terminal); with a path it is saved atomically
(written to a temporary file in the same folder, created if missing, then
renamed over ``path``) and the path is returned as a :class:`pathlib.Path`.
The file format follows the suffix of ``path`` (``.png``, ``.pdf``, ``.svg``, ...).
"""

from ._codes import code_scatter
from ._curves import activation_histogram, error_curve, loss_curve
from ._images import filter_grid, image_rows

__all__ = ["image_rows", "loss_curve", "error_curve", "filter_grid", "activation_histogram", "code_scatter"]
