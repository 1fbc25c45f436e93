"""Reconstruction and code metrics for autoencoders.

Pure NumPy functions (scikit-image only for SSIM) that compare data with its
reconstruction, or summarise a code matrix. Every function returns plain
Python numbers so results can be written to JSON as they are.

The first axis always indexes samples (images). A single sample may be passed
as a 1-D array.
"""

from ._codes import code_statistics
from ._errors import mean_squared_error, psnr, squared_error_per_sample, ssim
from ._missing import hidden_entry_error, hide_entries, hide_observed, rmse_on_mask

__all__ = [
    "squared_error_per_sample",
    "mean_squared_error",
    "psnr",
    "ssim",
    "rmse_on_mask",
    "hide_observed",
    "hide_entries",
    "hidden_entry_error",
    "code_statistics",
]
