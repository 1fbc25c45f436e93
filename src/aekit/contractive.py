"""Contractive autoencoders: a penalty on the encoder's Jacobian (Rifai et al., ICML 2011).

A contractive autoencoder minimises ``L(x, g(f(x))) + lambda ||J_f(x)||_F^2``,
where ``J_f(x) = dh/dx`` is the Jacobian of the code with respect to the
input: the code is pushed to change little as x moves, except along the
directions the data needs to be reconstructed (the data manifold), which
makes its features locally invariant.

The squared Frobenius norm is estimated without forming the Jacobian:
``||J||_F^2 = E_u ||J^T u||^2`` for ``u ~ N(0, I)`` over the code units
(Hutchinson's estimator), and ``J^T u`` is one vector-Jacobian product, one
extra backward pass through the encoder per sample of ``u``
(``contraction_samples``), for any architecture. :func:`jacobian_norms`
computes the exact value (one product per code unit) to check a model.

:class:`ContractiveAutoencoder` is :class:`aekit.Autoencoder` with the
``_make_penalty`` hook filled in; the penalty uses the training loop's
``needs_input`` hook (:class:`aekit.training.Trainer`).
"""

from __future__ import annotations

import numpy as np
import torch

from ._base import Autoencoder
from ._inference import input_chunks
from ._params import Param

__all__ = ["ContractiveAutoencoder", "JacobianPenalty", "jacobian_norms"]


class JacobianPenalty:
    """``weight * mean_over_batch ||d code / d x||_F^2``, estimated with ``samples`` random projections.

    Called by the trainer as ``penalty(code, x, generator)`` with ``x``
    requiring gradients (``needs_input``); the projections are drawn from
    ``generator`` (seeded and checkpointed by the trainer), so training is
    reproducible.

    Parameters
    ----------
    weight : float
        lambda >= 0.
    samples : int
        Random projections ``u ~ N(0, I)`` per batch; the estimate is
        unbiased for any number, its variance falls as ``1 / samples``.

    Examples
    --------
    >>> x = torch.ones(2, 3, requires_grad=True)
    >>> code = torch.cat([2 * x[:, :1], x[:, 1:2]], dim=1)  # J = [[2, 0, 0], [0, 1, 0]]: ||J||_F^2 = 5
    >>> penalty = JacobianPenalty(1.0, samples=20000)
    >>> round(float(penalty(code, x, torch.Generator().manual_seed(0))), 1)
    5.0
    """

    needs_input = True

    def __init__(self, weight: float, samples: int = 1):
        self.weight = float(weight)
        self.samples = int(samples)

    def __call__(self, code: torch.Tensor, x: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        if self.weight == 0.0:
            return code.sum() * 0.0
        # (samples, batch, n_components): one vector-Jacobian product per projection, batched
        u = torch.randn((self.samples, *code.shape), generator=generator, device=code.device, dtype=code.dtype)
        (vjp,) = torch.autograd.grad(code, x, grad_outputs=u, create_graph=True, is_grads_batched=True)
        return self.weight * vjp.square().flatten(2).sum(dim=2).mean()


def jacobian_norms(estimator, X, batch_size: int = 256) -> np.ndarray:
    """Exact ``||d code / d x||_F^2`` of each sample of X under a fitted estimator's encoder.

    One vector-Jacobian product per code unit (rows of the Jacobian), so it
    costs ``n_components`` backward passes: for checking a model, not for
    training. The derivative is with respect to the input the network sees:
    the scaled X of a model with ``scaling``.

    Parameters
    ----------
    estimator : fitted Autoencoder (any aekit autoencoder with a code)
    X : array-like of shape (n_samples, n_features)
    batch_size : int, default=256

    Returns
    -------
    norms : ndarray of shape (n_samples,), float64

    Raises
    ------
    ValueError
        For a model without a code: a U-Net, an imputer or an ensemble of
        imputers.

    Examples
    --------
    >>> import numpy as np
    >>> from aekit import Autoencoder
    >>> X = np.random.default_rng(0).random((100, 6))
    >>> ae = Autoencoder(n_components=2, hidden_layer_sizes=(), max_epochs=2, random_state=0).fit(X)
    >>> W = ae.net_.encoder[0].weight.detach().numpy()  # a shallow linear encoder: J = W everywhere
    >>> bool(np.allclose(jacobian_norms(ae, X[:3]), (W ** 2).sum()))
    True
    """
    from sklearn.utils.validation import check_is_fitted

    from ._imputer import ImputerMixin

    if isinstance(estimator, ImputerMixin):  # mask_input's net passes the observed entries through: n_features
        raise ValueError(f"an {type(estimator).__name__} has no code (it fills holes from the observed entries, "
                         "which it scales and masks itself): jacobian_norms needs a model with one.")
    check_is_fitted(estimator, "net_")
    if getattr(estimator, "architecture", None) == "unet":  # its encode returns X: the norm would be n_features
        raise ValueError(f"a U-Net {type(estimator).__name__} has no code (its skip connections carry the input "
                         "past the bottleneck, so its encoder is the identity): jacobian_norms needs a model with one.")
    if not isinstance(batch_size, (int, np.integer)) or isinstance(batch_size, bool) or batch_size < 1:
        raise ValueError(f"batch_size must be >= 1; got {batch_size!r}.")
    # with scaling, the Jacobian is taken at the scaled input the network saw
    X = estimator._network_input(estimator._inference_X(X))
    net = estimator.net_
    device = next(net.parameters()).device
    out = []
    was_training = net.training
    net.eval()
    try:
        # a memory map is read block by block and each block checked for NaN, as transform does
        for block in input_chunks(X):
            for start in range(0, block.shape[0], batch_size):
                x = torch.tensor(block[start:start + batch_size], device=device)
                out.append(_exact_norms(net, x))
    finally:
        net.train(was_training)
    return np.concatenate(out) if out else np.zeros(0)


def _exact_norms(net, x: torch.Tensor) -> np.ndarray:
    """``||d code / d x||_F^2`` of each row of ``x`` (batch, n_features), one backward pass per code unit."""
    x.requires_grad_(True)
    code = net.encode(x).flatten(1)  # (batch, code_size)
    basis = torch.eye(code.shape[1], device=x.device, dtype=code.dtype)[:, None, :].expand(-1, *code.shape)
    (rows,) = torch.autograd.grad(code, x, grad_outputs=basis, is_grads_batched=True)
    return rows.square().flatten(2).sum(dim=2).sum(dim=0).double().cpu().numpy()


class ContractiveAutoencoder(Autoencoder):
    """Autoencoder whose encoder is penalised by the squared norm of its Jacobian.

    Minimises ``L(x, g(f(x))) + contraction_weight * ||df/dx||_F^2`` (mean
    over the batch), the contractive autoencoder of Rifai et al. (2011),
    with the norm estimated by random projections (see
    :class:`JacobianPenalty`); it works with every ``architecture``.
    The useful ``contraction_weight`` depends on the data rather than on
    ``n_features`` (the same weight shrinks the norm about equally on
    Fashion-MNIST at 7x7 and 28x28 pixels): choose it on held-out data.

    Takes every parameter of :class:`~aekit.Autoencoder` (its docstring
    describes them) plus the two below, and has its fitted attributes.
    ``score`` is the reconstruction error alone (the penalty is in
    ``loss_curve_`` and ``validation_scores_``); :func:`jacobian_norms`
    measures the contraction on any data.

    Parameters
    ----------
    n_components : int, default=2
        Size of the code.
    contraction_weight : float, default=1e-3
        lambda >= 0; 0 gives a plain :class:`~aekit.Autoencoder`.
    contraction_samples : int, default=1
        Random projections per batch for the Jacobian norm; each costs one
        more backward pass through the encoder.

    Examples
    --------
    >>> import numpy as np
    >>> from aekit import Autoencoder
    >>> from aekit.contractive import ContractiveAutoencoder, jacobian_norms
    >>> X = np.random.default_rng(0).random((300, 8))
    >>> plain = Autoencoder(n_components=2, hidden_layer_sizes=(16,), max_epochs=20, random_state=0).fit(X)
    >>> cae = ContractiveAutoencoder(n_components=2, hidden_layer_sizes=(16,), contraction_weight=0.1,
    ...                              max_epochs=20, random_state=0).fit(X)
    >>> bool(jacobian_norms(cae, X).mean() < jacobian_norms(plain, X).mean())
    True
    """

    _cli_name = "contractive"
    _penalty_name = "Jacobian penalty"  # what the training loss adds (loss curves say it)

    _param_specs = {
        **Autoencoder._param_specs,
        "contraction_weight": Param("float", "lambda, weight of the encoder's squared Jacobian norm", low=0),
        "contraction_samples": Param("int", "random projections per batch estimating the Jacobian norm", low=1),
    }

    def __init__(
        self,
        n_components=2,
        *,
        contraction_weight=1e-3,
        contraction_samples=1,
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
        self.contraction_weight = contraction_weight
        self.contraction_samples = contraction_samples

    def _make_penalty(self):
        return JacobianPenalty(self.contraction_weight, self.contraction_samples)
