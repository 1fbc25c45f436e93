"""The denoising autoencoder (Vincent et al., 2008).

It is trained to reconstruct a clean ``x`` from a corrupted ``x_tilde``,

    L = 1/N sum_n loss(x_n, D(E(x_tilde_n))),

with fresh noise drawn for every training batch (the validation loss uses
fixed noise, so epochs compare). At inference nothing is corrupted:
:meth:`DenoisingAutoencoder.denoise` maps noisy inputs to clean estimates.
"""

from __future__ import annotations

import numpy as np
import torch

from ._base import Autoencoder
from ._params import Param, int_tuple
from .corruption import CORRUPTIONS, make_corruption
from .streaming import BatchSource
from .unet import UNetDenoiser

__all__ = ["DenoisingAutoencoder"]


_EXTREMES_ROWS = 4096


def _extremes(X, mask, by_column: bool):
    """Smallest and largest observed value of X: overall (pixels share a range), or of each column (scaled X,
    where every column has its own); (0, 1) without observed values.

    A block of rows at a time in X's own dtype (minimum and maximum are exact in any): an array, a memory map or
    an iterable of batches is never copied whole (a float64 copy of all of X was made, twice X's float32 size).
    """
    if isinstance(X, BatchSource):
        blocks = X.chunks(_EXTREMES_ROWS)
    else:
        blocks = ((X[i:i + _EXTREMES_ROWS], None if mask is None else mask[i:i + _EXTREMES_ROWS])
                  for i in range(0, X.shape[0], _EXTREMES_ROWS))
    low = high = None
    for x, m in blocks:
        x = x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)
        if not x.size:
            continue
        observed = True if m is None else np.asarray(m) > 0
        axis = 0 if by_column else None
        lo = np.asarray(np.min(x, axis=axis, where=observed, initial=np.inf), dtype=np.float64).reshape(-1)
        hi = np.asarray(np.max(x, axis=axis, where=observed, initial=-np.inf), dtype=np.float64).reshape(-1)
        low = lo if low is None else np.minimum(low, lo)
        high = hi if high is None else np.maximum(high, hi)
    if low is None:
        return 0.0, 1.0
    low, high = np.where(np.isinf(low), 0.0, low), np.where(np.isinf(high), 1.0, high)  # a column never observed
    return (low, high) if by_column else (float(low[0]), float(high[0]))


class DenoisingAutoencoder(Autoencoder):
    """Autoencoder trained to undo a corruption of its input.

    Takes every parameter of :class:`~aekit.Autoencoder` (its docstring
    describes them) plus the four below. For images use
    ``architecture="fully_conv"`` (or ``"conv"``) with ``image_shape``, or
    ``architecture="unet"``: a U-Net (:class:`aekit.unet.UNetDenoiser`,
    stage channels ``hidden_layer_sizes``) that predicts the noise and
    subtracts it from the input. Its skip connections pass the whole image
    past the bottleneck, so it has no code: ``transform`` returns the input,
    ``n_components`` is unused, and the output is linear (``loss="mse"``).
    The better photograph denoiser (``benchmarks/checks/photo_heldout.py``).

    Parameters
    ----------
    corruption : {"gaussian", "masking", "salt_and_pepper"}, default="gaussian"
        "gaussian": additive noise of standard deviation
        ``corruption_level``; "masking": a random fraction
        ``corruption_level`` of the entries set to 0; "salt_and_pepper": a
        random fraction set to the minimum or maximum of the training data
        (a fair coin each).
    corruption_level : float, default=0.1
        Standard deviation (gaussian, >= 0) or fraction (the others, in
        [0, 1]). The noise is added to what the network sees: under
        ``scaling``, the scaled columns (a standard deviation in units of
        each column's own, and a masked entry set to the column's mean for
        "standard", its minimum for "minmax").
    random_level : bool, default=False
        Draw each sample's level from ``[0, corruption_level]`` (uniformly,
        unless ``level_power`` says otherwise): one "blind" model for every
        noise level up to ``corruption_level``.
    level_power : float, default=1.0
        With ``random_level``, draw the level as
        ``corruption_level * u ** level_power``, ``u ~ U[0, 1]``: values
        above 1 train more on weak noise (the squared error is dominated by
        strong noise otherwise). 2 gave a blind Fashion-MNIST model about
        0.5 dB more at sigma = 0.1 for 0.25 dB less at 0.3 to 0.5.

    Attributes
    ----------
    data_min_, data_max_ : float, or ndarray of shape (n_features,) with ``scaling``
        Smallest and largest value of the (observed) training data, each
        column's in scaled units under ``scaling``: the values
        "salt_and_pepper" sets. ``partial_fit`` widens them over its
        chunks, a loaded model's included (they are saved with it).

    Examples
    --------
    >>> import numpy as np
    >>> from aekit import DenoisingAutoencoder
    >>> X = np.random.default_rng(0).random((200, 16))
    >>> dae = DenoisingAutoencoder(n_components=4, hidden_layer_sizes=(32,), corruption="masking",
    ...                            corruption_level=0.3, max_epochs=3, random_state=0).fit(X)
    >>> dae.denoise(X).shape
    (200, 16)
    """

    _cli_name = "denoising"
    _streaming = True  # _fit takes the extremes of a memory map or iterable a block at a time (_extremes)

    _param_specs = {
        **Autoencoder._param_specs,
        "architecture": Param("str", "network family (unet: images, no code)",
                              choices=(*Autoencoder._param_specs["architecture"].choices, "unet")),
        "corruption": Param("str", "input corruption during training", choices=tuple(CORRUPTIONS)),
        "corruption_level": Param("float", "noise std (gaussian) or corrupted fraction (masking, "
                                           "salt_and_pepper; pattern: of the samples)", low=0),
        "random_level": Param("bool", "draw each sample's noise level uniformly in [0, corruption_level]"),
        "level_power": Param("float", "random_level draws corruption_level * u**level_power (>1: more weak "
                                      "noise)", low=0, low_open=True),
    }

    def __init__(
        self,
        n_components=2,
        *,
        hidden_layer_sizes=(256, 128),
        activation="relu",
        output_activation="auto",
        loss="mse",
        optimizer="adam",
        learning_rate=2e-3,
        weight_decay=0.0,
        momentum=0.9,
        lr_schedule="warmup_plateau",
        batch_size=128,
        max_epochs=200,
        max_time=None,
        validation_fraction=0.1,
        n_iter_no_change=10,
        tol=1e-4,
        architecture="mlp",
        image_shape=None,
        pretraining="none",
        precision="float32",
        device="auto",
        random_state=None,
        verbose=False,
        warm_start=False,
        scaling="none",
        corruption="gaussian",
        corruption_level=0.1,
        random_level=False,
        level_power=1.0,
    ):
        super().__init__(
            n_components,
            hidden_layer_sizes=hidden_layer_sizes,
            activation=activation,
            output_activation=output_activation,
            loss=loss,
            optimizer=optimizer,
            learning_rate=learning_rate,
            weight_decay=weight_decay,
            momentum=momentum,
            lr_schedule=lr_schedule,
            batch_size=batch_size,
            max_epochs=max_epochs,
            max_time=max_time,
            validation_fraction=validation_fraction,
            n_iter_no_change=n_iter_no_change,
            tol=tol,
            architecture=architecture,
            image_shape=image_shape,
            pretraining=pretraining,
            precision=precision,
            device=device,
            random_state=random_state,
            verbose=verbose,
            warm_start=warm_start,
            scaling=scaling,
        )
        self.corruption = corruption
        self.corruption_level = corruption_level
        self.random_level = random_level
        self.level_power = level_power

    def _check_params(self) -> None:
        super()._check_params()
        make_corruption(self.corruption, self.corruption_level)  # range of the level, up front

    def _build_net(self, n_features: int):
        if self.architecture != "unet":
            return super()._build_net(n_features)
        # checked here, not in _check_params: AutoencoderImputer's U-Net (mask_input) takes a sigmoid output
        if self._resolved_output_activation() != "identity":
            raise ValueError(
                "architecture='unet' subtracts the predicted noise from its input, so its output is linear: it needs "
                f"output_activation='identity' (or 'auto' with loss='mse'); got output_activation="
                f"{self.output_activation!r} with loss={self.loss!r}."
            )
        return UNetDenoiser(self._image_shape_for(n_features), int_tuple(self.hidden_layer_sizes),
                            activation=self.activation)

    def _fit(self, X: np.ndarray, mask: np.ndarray | None = None):
        # salt and pepper uses the extremes of the (observed) training data; over partial_fit's chunks, all seen,
        # those of the data a loaded model was trained on included (saved with it as fitted attributes)
        low, high = _extremes(X, mask, by_column=self._scales_columns())
        if self.__dict__.get("_partial") and {"data_min_", "data_max_"} <= self.__dict__.keys():
            low, high = np.minimum(low, self.data_min_), np.maximum(high, self.data_max_)
            low, high = (low, high) if np.ndim(low) else (float(low), float(high))
        self.data_min_, self.data_max_ = low, high
        return super()._fit(X, mask)

    def _scales_columns(self) -> bool:
        """Whether the network sees each column on a scale of its own (salt and pepper then takes each column's
        extremes; pixels share one range)."""
        return self._scales()

    def _make_corruption(self):
        options = {}
        if self.corruption == "salt_and_pepper":
            options = {"low": self.data_min_, "high": self.data_max_}
        return make_corruption(self.corruption, self.corruption_level, random_level=bool(self.random_level),
                               level_power=float(self.level_power), **options)

    def denoise(self, X):
        """Clean estimates of (noisy) X: the reconstruction, with no corruption applied.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        X_clean : ndarray of shape (n_samples, n_features), float32
        """
        return self.reconstruct(X)
