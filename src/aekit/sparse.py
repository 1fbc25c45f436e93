"""Sparse autoencoders: L1, KL and top-k sparsity on the code, for feature learning.

A sparse autoencoder minimises ``L(x, g(f(x))) + Omega(h)`` with a penalty
``Omega`` on the code ``h = f(x)`` (or, for top-k, a code that keeps only
its ``k`` largest activations). It is typically used to learn features for
another task: ``transform`` gives the codes, which drop into a
:class:`sklearn.pipeline.Pipeline` before a classifier.

:class:`SparseAutoencoder` is :class:`aekit.Autoencoder` with two hooks
filled in (``_code_activation`` and ``_make_penalty``) and sparsity
diagnostics computed on the training set after ``fit``.
"""

from __future__ import annotations

import logging

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ._base import Autoencoder
from ._builders import ARCHITECTURES
from ._params import Param
from .metrics import code_statistics
from .nets import TopK
from .penalties import PENALTIES, make_penalty

__all__ = ["SparseAutoencoder", "CODE_ACTIVATIONS", "encoder_filters"]

logger = logging.getLogger(__name__)

#: Code activations by name: (module class or None for linear, (low, high) of the output range).
CODE_ACTIVATIONS = {
    "identity": (None, (-np.inf, np.inf)),
    "relu": (nn.ReLU, (0.0, np.inf)),
    "sigmoid": (nn.Sigmoid, (0.0, 1.0)),
}

#: What "auto" means for each kind of sparsity.
_AUTO_CODE_ACTIVATION = {"l1": "relu", "kl": "sigmoid", "topk": "relu"}

#: Inverse of each output activation, to start the decoder's output at the training mean.
_OUTPUT_INVERSE = {
    "identity": lambda m: m,
    "sigmoid": lambda m: torch.logit(m.clamp(1e-3, 1 - 1e-3)),
}

#: A unit counts as active on a sample when ``|h| > threshold``: above its resting
#: level. ReLU and top-k codes rest at exactly 0. Sigmoid codes are never 0: under
#: "kl" they rest at the target rate rho (where training starts them and the penalty
#: holds their mean), so "active" is h > rho (see ``_activity_threshold``); under "l1"
#: it is a positive pre-activation, h > 0.5.
_ACTIVITY_THRESHOLD = {"identity": 1e-6, "relu": 1e-6, "sigmoid": 0.5}


class _Shift(nn.Module):
    """Subtract a fixed offset (the training mean) from the input: ``x - offset``."""

    def __init__(self, n_features: int):
        super().__init__()
        self.register_buffer("offset", torch.zeros(n_features))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x - self.offset


class _UnitColumnLinear(nn.Linear):
    """``nn.Linear`` that uses its weight with every column (one per input unit) at unit L2 norm."""

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        # weight: (out_features, in_features); normalise each input unit's column
        weight = self.weight / self.weight.norm(dim=0, keepdim=True).clamp_min(1e-12)
        return F.linear(z, weight, self.bias)


def encoder_filters(estimator) -> np.ndarray:
    """Weights of the first encoder layer, one row per unit: the learned filters.

    For a shallow autoencoder (``hidden_layer_sizes=()``) these are the code
    units' filters (a variational one's: its mean head's); for a deep one,
    the first hidden layer's.

    Parameters
    ----------
    estimator : Autoencoder
        A fitted aekit estimator with an MLP network.

    Returns
    -------
    W : ndarray of shape (n_units, n_features), float32

    Raises
    ------
    ValueError
        If the network is convolutional (``architecture`` other than "mlp"),
        or its first layer reads more than the inputs (an
        :class:`~aekit.AutoencoderImputer` with ``mask_input=True``).
    """
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(estimator, "net_")
    architecture = getattr(estimator, "architecture", "mlp")
    if architecture != "mlp":  # a conv net's first Linear layer reads feature maps, not pixels
        raise ValueError(f"{type(estimator).__name__} has architecture={architecture!r}; its first layer is a "
                         "convolution, not a linear layer with one filter per unit over the input.")
    net = estimator.net_
    if hasattr(net, "base") and hasattr(net, "mu"):  # a VAE's GaussianEncoderNet: the mean head is its code layer
        layers = [*net.base.encoder, net.mu]
    else:
        layers = list(getattr(net, "encoder", ()))
    first = next((m for m in layers if isinstance(m, nn.Linear)), None)
    n_features = estimator.n_features_in_
    if first is None or first.in_features != n_features:  # an imputer's mask_input net also reads "seen" flags
        raise ValueError(f"{type(estimator).__name__} has no linear encoder layer over its {n_features} inputs to "
                         "show as filters.")
    return first.weight.detach().cpu().numpy().astype(np.float32)


class SparseAutoencoder(Autoencoder):
    """Autoencoder with a sparse code: L1 or KL penalty, or k-sparse (top-k) codes.

    ``sparsity="l1"`` adds ``lambda * sum_i |h_i|`` (averaged over the batch)
    to the reconstruction loss; ``"kl"`` adds Ng's
    ``beta * sum_j KL(rho || rho_hat_j)`` on sigmoid codes, ``rho_hat_j``
    being unit ``j``'s mean activation over the batch; ``"topk"`` keeps the
    ``k`` largest activations of each code and zeroes the rest (Makhzani &
    Frey, 2013). See :mod:`aekit.penalties` for the exact scaling. Codes may
    be over-complete (``n_components > n_features``).

    Three details make the penalties do what they say on real data:

    - the input is centred on the training mean before the encoder, and the
      decoder's output bias starts there (the same affine function class;
      without it, on non-negative data such as pixels, many ReLU code units
      die early in training);
    - with "l1", the decoder reads the code through unit-norm columns, so
      the penalty cannot be dodged by shrinking the code while the decoder
      weights grow;
    - with "kl", every unit starts at the target activation ``rho``
      (code bias ``logit(rho)``), unless ``pretraining`` sets the code
      layer (it keeps the pretrained biases: mean code about 0.5 at the
      start on digits, the penalty then pulls it down).

    Takes every parameter of :class:`~aekit.Autoencoder` (its docstring
    describes them) plus ``sparsity``, ``sparsity_weight``,
    ``sparsity_target``, ``k`` and ``code_activation``; the other
    parameters listed below have other defaults here. Fitted, it has every
    attribute of :class:`~aekit.Autoencoder` (``net_``, ``loss_curve_``...)
    plus those below.

    Parameters
    ----------
    n_components : int, default=256
        Size of the code; may exceed the number of features.
    sparsity : {"l1", "kl", "topk"}, default="l1"
        Kind of sparsity.
    sparsity_weight : float, default=1e-3
        lambda for "l1", beta for "kl"; >= 0 (0 turns the penalty off).
        Ignored by "topk".
    sparsity_target : float, default=0.05
        rho, the target mean activation of each unit for "kl"; in (0, 1).
    k : int, default=25
        Active units kept per sample for "topk"; 1 <= k <= n_components.
    code_activation : {"auto", "identity", "relu", "sigmoid"}, default="auto"
        Activation on the code. "auto" is "relu" for "l1" and "topk"
        (non-negative codes that can be exactly zero) and "sigmoid" for
        "kl", which needs codes in (0, 1).
    hidden_layer_sizes : int or tuple of int, default=()
        Encoder hidden widths; the default is a shallow autoencoder, whose
        code units' filters are the encoder weights (:func:`encoder_filters`).
    weight_decay : float, default=0.0
        L2 penalty on the weights, as in :class:`~aekit.Autoencoder`.
    learning_rate : float, default=1e-3
        Step size (2e-3 in :class:`~aekit.Autoencoder`).
    lr_schedule : {"constant", "cosine", "onecycle", "plateau", "warmup_plateau"}, default="constant"
        Learning-rate schedule ("warmup_plateau" in :class:`~aekit.Autoencoder`).
    batch_size : int, default=256
        Minibatch size (128 in :class:`~aekit.Autoencoder`).
    architecture : {"mlp"}, default="mlp"
        Only fully connected networks; "conv" and "fully_conv" are refused.

    Attributes
    ----------
    active_fraction_ : float
        Mean over training samples of the fraction of active code units.
    dead_units_ : int
        Code units active on no training sample.
    dead_fraction_ : float
        ``dead_units_ / n_components``.
    mean_abs_code_ : float
        Mean ``|h|`` over the training codes.
    mean_activation_ : float
        Mean ``h`` over the training codes (close to ``sparsity_target`` for "kl").
    activity_threshold_ : float
        A unit is active on a sample when ``|h|`` exceeds this, its resting
        level: 1e-6 for ReLU, linear and top-k codes; ``sparsity_target`` for
        "kl" (its sigmoid codes are held near that mean, rarely above 0.5);
        0.5 for sigmoid codes under "l1" (a positive pre-activation).

    Examples
    --------
    >>> import numpy as np
    >>> from aekit import SparseAutoencoder
    >>> X = np.random.default_rng(0).random((200, 16))
    >>> sae = SparseAutoencoder(n_components=32, sparsity="topk", k=4, max_epochs=3,
    ...                         random_state=0).fit(X)
    >>> int((sae.transform(X) != 0).sum(axis=1).max()) <= 4
    True
    >>> sorted(sae.diagnostics())
    ['active_fraction', 'dead_fraction', 'dead_units', 'mean_abs_code', 'mean_activation']
    """

    _cli_name = "sparse"
    _penalty_name = "sparsity penalty"  # what the training loss adds (loss curves say it)

    _param_specs = {
        **Autoencoder._param_specs,
        "sparsity": Param("str", "kind of sparsity", choices=tuple(PENALTIES)),
        "sparsity_weight": Param("float", "lambda (l1) or beta (kl); not for topk", low=0,
                                 only_with=("sparsity", ("l1", "kl"))),
        "sparsity_target": Param("float", "rho, target mean activation for kl", low=0, high=1, low_open=True,
                                 high_open=True, only_with=("sparsity", ("kl",))),
        "k": Param("int", "active units kept per sample for topk", low=1, only_with=("sparsity", ("topk",))),
        "code_activation": Param("str", "code activation (auto: relu, or sigmoid for kl)",
                                 choices=("auto", *CODE_ACTIVATIONS)),
    }

    def __init__(
        self,
        n_components=256,
        *,
        sparsity="l1",
        sparsity_weight=1e-3,
        sparsity_target=0.05,
        k=25,
        code_activation="auto",
        hidden_layer_sizes=(),
        activation="relu",
        output_activation="auto",
        loss="mse",
        optimizer="adam",
        learning_rate=1e-3,
        weight_decay=0.0,
        momentum=0.9,
        lr_schedule="constant",
        batch_size=256,
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
        self.sparsity = sparsity
        self.sparsity_weight = sparsity_weight
        self.sparsity_target = sparsity_target
        self.k = k
        self.code_activation = code_activation

    # ------------------------------------------------------------------ hooks
    def _resolved_code_activation(self) -> str:
        if self.code_activation == "auto":
            return _AUTO_CODE_ACTIVATION[self.sparsity]
        return self.code_activation

    def _code_activation(self):
        module_class, _ = CODE_ACTIVATIONS[self._resolved_code_activation()]
        layers = [] if module_class is None else [module_class()]
        if self.sparsity == "topk":
            layers.append(TopK(self.k))
        if not layers:
            return None
        return layers[0] if len(layers) == 1 else nn.Sequential(*layers)

    def _build_net(self, n_features: int) -> nn.Module:
        net = super()._build_net(n_features)
        # Centre the input on the training mean: the same function class (W(x - m) + b is affine
        # in x), better conditioned; on non-negative data such as pixels, many ReLU codes die without it.
        # The decoder's output bias starts at the mean too, so the code starts out explaining
        # deviations from it.
        shift = _Shift(n_features)
        mean = getattr(self, "_training_mean", None)
        if mean is not None:
            mean = torch.from_numpy(np.asarray(mean, dtype=np.float32))
            shift.offset.copy_(mean)
            with torch.no_grad():
                net.decoder[-1].bias.copy_(_OUTPUT_INVERSE[self._resolved_output_activation()](mean))
        net.encoder = nn.Sequential(shift, *net.encoder)
        if self.sparsity == "kl":
            # Start every sigmoid unit at the target mean activation, where the KL penalty is 0.
            code_layer = [m for m in net.encoder if isinstance(m, nn.Linear)][-1]
            with torch.no_grad():
                code_layer.bias.fill_(float(np.log(self.sparsity_target / (1.0 - self.sparsity_target))))
        if self.sparsity == "l1":
            # Unit-norm decoder columns: otherwise the L1 penalty is dodged by shrinking the code
            # and growing the decoder weights that read it.
            old = net.decoder[0]
            new = _UnitColumnLinear(old.in_features, old.out_features)
            new.load_state_dict(old.state_dict())
            net.decoder[0] = new
        return net

    def _pretrain(self, net, train_data, seed: int, device) -> None:
        super()._pretrain(net, train_data, seed, device)
        # The layers were pretrained on raw x, but here the first one reads x - mean: W x + b = W (x - mean)
        # + (b + W mean), so folding the mean into its bias keeps the pretrained function.
        shift = net.encoder[0]
        first = next(m for m in net.encoder if isinstance(m, nn.Linear))
        with torch.no_grad():
            first.bias += first.weight @ shift.offset

    def _make_penalty(self):
        return make_penalty(self.sparsity, self.sparsity_weight, self.sparsity_target)

    def _check_params(self) -> None:
        if isinstance(self.architecture, str) and self.architecture in ARCHITECTURES and self.architecture != "mlp":
            # first: the conv checks of the base class would ask for settings that are refused here anyway
            raise ValueError(
                "architecture must be 'mlp' for SparseAutoencoder (the input centring, the KL start and the "
                "unit-norm decoder columns are built on a fully connected net); "
                f"got architecture={self.architecture!r}."
            )
        super()._check_params()
        if self.sparsity == "topk" and self.k > self.n_components:
            raise ValueError(
                f"k must be <= n_components ({self.n_components}) for sparsity='topk'; got k={self.k}"
                + (" (the default: set k too)." if self.k == type(self)().k else ".")  # a k never typed
            )
        if self.sparsity == "kl":
            name = self._resolved_code_activation()
            low, high = CODE_ACTIVATIONS[name][1]
            if low < 0.0 or high > 1.0:
                raise ValueError(
                    "sparsity='kl' needs codes in (0, 1): code_activation must be 'sigmoid' (or 'auto'); "
                    f"got code_activation={self.code_activation!r}, whose range is ({low:g}, {high:g})."
                )

    # -------------------------------------------------------------------- fit
    def _fit(self, X: np.ndarray, mask: np.ndarray | None = None):
        if mask is None:
            self._training_mean = X.mean(axis=0)
        else:  # mean of the observed entries of each feature
            self._training_mean = (X * mask).sum(axis=0) / np.maximum(mask.sum(axis=0), 1)
        try:
            super()._fit(X, mask)
        finally:
            del self._training_mean
        return self

    def _measure_fit(self, X, mask: np.ndarray | None) -> None:
        self._set_diagnostics(X if mask is None else X * mask)

    def _activity_threshold(self) -> float:
        """``|h|`` above which a code unit counts as active on a sample (dead: active on none)."""
        if self.sparsity == "topk":  # exactly 0 off the kept units, whatever the activation
            return 1e-6
        if self.sparsity == "kl":  # a unit never above the target rate never fires; h > 0.5 is rare at rho = 0.05
            return float(self.sparsity_target)
        return _ACTIVITY_THRESHOLD[self._resolved_code_activation()]

    def _set_diagnostics(self, X: np.ndarray) -> None:
        threshold = self._activity_threshold()
        stats = code_statistics(self._apply(self.net_.encode, X), threshold=threshold)
        self.active_fraction_ = stats["active_fraction"]
        self.dead_units_ = stats["dead_units"]
        self.dead_fraction_ = stats["dead_fraction"]
        self.mean_abs_code_ = stats["mean_abs"]
        self.mean_activation_ = stats["mean_activation"]
        self.activity_threshold_ = threshold
        logger.info("sparsity on the training set: %.1f%% of units active per sample, %d dead units, "
                    "mean |h| %.4g", 100 * self.active_fraction_, self.dead_units_, self.mean_abs_code_)

    def diagnostics(self) -> dict:
        """Sparsity diagnostics on the training set, by name (JSON-able).

        Returns
        -------
        dict
            ``active_fraction``, ``dead_units``, ``dead_fraction``,
            ``mean_abs_code``, ``mean_activation``.
        """
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(self, "active_fraction_")
        return {
            "active_fraction": self.active_fraction_,
            "dead_units": self.dead_units_,
            "dead_fraction": self.dead_fraction_,
            "mean_abs_code": self.mean_abs_code_,
            "mean_activation": self.mean_activation_,
        }
