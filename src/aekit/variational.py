"""Variational autoencoders (Kingma & Welling, ICLR 2014).

The encoder gives a Gaussian posterior ``q(z|x) = N(mu(x), diag exp(logvar(x)))``
over the code, training decodes a reparameterised draw
``z = mu + exp(logvar / 2) * eps`` (``eps ~ N(0, I)``), and the objective is
the negative evidence lower bound (ELBO) of each sample, in nats:

    -ELBO_beta(x) = -log p(x | z) + beta * KL(q(z|x) || N(0, I))

with the likelihood ``p(x|z)`` set by ``loss``:

* ``"bce"``: independent Bernoulli pixels with means ``decode(z)``,
  ``-log p(x|z) = sum_j BCE(x_j, xhat_j)``; for grey levels in [0, 1] this
  is the usual surrogate (exact for binary data, not a density of
  continuous x);
* ``"mse"``: a Gaussian of unit variance around ``decode(z)``,
  ``-log p(x|z) = ||x - xhat||^2 / 2 + (n_features / 2) log(2 pi)``, which
  suits standardised data (``scaling="standard"``); on pixels in [0, 1]
  such a wide likelihood lets the KL term switch most code units off
  (``fit`` logs a warning there: ``benchmarks/variational_collapse.py``).

Both are sums over the features, and the KL is a sum over the code units,
so ``beta=1`` makes ``-ELBO`` an upper bound on ``-log p(x)``. The training
loop's losses are means over the features (:mod:`aekit.losses`), so the
KL penalty is scaled to match: the objective it minimises (``loss_curve_``)
is ``-ELBO_beta / n_features`` for "bce" and
``2 (-ELBO_beta - (n_features / 2) log(2 pi)) / n_features`` for "mse":
the same optimum, and loss values on the scale of the other autoencoders.

:class:`VariationalAutoencoder` builds its network by splitting the code
layer of the ordinary one into a mean head and a log-variance head
(:class:`GaussianEncoderNet`); the training loop draws ``eps`` from its
seeded, checkpointed noise generator through the net's ``encode_train``
hook (:class:`aekit.training.Trainer`).
"""

from __future__ import annotations

import logging
import math

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted
from torch import nn

from ._base import Autoencoder
from ._params import Param
from .streaming import ArraySource

__all__ = ["VariationalAutoencoder", "GaussianEncoderNet", "GaussianKL", "gaussian_kl"]

logger = logging.getLogger(__name__)

#: Architectures whose code layer is a ``Linear`` that can become the mean and log-variance heads.
_LINEAR_CODE = ("mlp", "conv")


def gaussian_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """``KL(N(mu, diag exp(logvar)) || N(0, I))`` of each row, in nats, summed over the code units.

    Parameters
    ----------
    mu, logvar : Tensor of shape (batch, n_components)

    Returns
    -------
    kl : Tensor of shape (batch,)

    Examples
    --------
    >>> gaussian_kl(torch.tensor([[0.0, 1.0]]), torch.tensor([[0.0, 0.0]]))  # 0 + 1/2
    tensor([0.5000])
    """
    return 0.5 * (mu.square() + logvar.exp() - 1.0 - logvar).sum(dim=1)


class GaussianKL:
    """``weight * mean_over_batch KL(q(z|x) || N(0, I))``, the penalty of a variational autoencoder.

    Called by the trainer with the code ``[mu, logvar]`` (batch, 2 * n_components)
    that :meth:`GaussianEncoderNet.encode_train` returns, in float32 (the
    trainer casts it, so the KL is computed in float32 under bfloat16 autocast).

    Parameters
    ----------
    weight : float
        ``beta`` times the scale that puts the KL in the units of the
        reconstruction loss (see the module docstring).
    """

    def __init__(self, weight: float):
        self.weight = float(weight)

    def __call__(self, code: torch.Tensor) -> torch.Tensor:
        mu, logvar = code.chunk(2, dim=1)
        return self.weight * gaussian_kl(mu, logvar).mean()


class GaussianEncoderNet(nn.Module):
    """An autoencoder net whose code layer is split into a mean head and a log-variance head.

    ``base`` is any aekit autoencoder module whose encoder (an
    ``nn.Sequential``) ends with the ``Linear`` code layer: that layer
    becomes ``mu``, a twin ``logvar`` layer is added (initialised to zero:
    unit variance everywhere at first), and the rest of ``base`` is reused
    as it is: its encoder without the code layer gives the features both
    heads read, its decoder decodes z.

    ``encode`` returns ``mu`` (deterministic codes for ``transform``);
    ``encode_train`` draws ``z`` for training.

    Parameters
    ----------
    base : nn.Module
        With ``encoder`` (ending in ``nn.Linear``), ``encode``, ``decode``
        and ``decode_logits``; changed in place.

    Raises
    ------
    ValueError
        If ``base``'s encoder does not end with a ``Linear`` code layer (a
        code activation such as :class:`~aekit.nets.TopK`).

    Examples
    --------
    >>> from aekit.nets import MLPAutoencoder
    >>> net = GaussianEncoderNet(MLPAutoencoder(8, (4,), 2))
    >>> code, z = net.encode_train(torch.zeros(3, 8), torch.Generator().manual_seed(0))
    >>> code.shape, z.shape, net(torch.zeros(3, 8)).shape
    (torch.Size([3, 4]), torch.Size([3, 2]), torch.Size([3, 8]))
    """

    def __init__(self, base: nn.Module):
        super().__init__()
        head = base.encoder[-1]
        if not isinstance(head, nn.Linear):
            raise ValueError(f"a variational encoder needs a linear code layer to split into mean and log-variance "
                             f"heads; the network's code layer is {type(head).__name__}.")
        base.encoder = base.encoder[:-1]
        self.base = base
        self.mu = head
        # beside the mean head: a float64 or GPU base used to get a float32 CPU log-variance head
        self.logvar = nn.Linear(head.in_features, head.out_features, device=head.weight.device, dtype=head.weight.dtype)
        nn.init.zeros_(self.logvar.weight)
        nn.init.zeros_(self.logvar.bias)
        self.code_size = int(head.out_features)

    def posterior(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(mu, logvar)`` of q(z|x).

        Parameters
        ----------
        x : torch.Tensor of shape (batch, n_features)
            Inputs.

        Returns
        -------
        mu : torch.Tensor of shape (batch, n_components)
            Posterior means.
        logvar : torch.Tensor of shape (batch, n_components)
            Posterior log-variances (natural log).
        """
        h = self.base.encode(x)
        return self.mu(h), self.logvar(h)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """The posterior means: deterministic codes for ``transform``.

        Parameters
        ----------
        x : torch.Tensor of shape (batch, n_features)
            Inputs.

        Returns
        -------
        torch.Tensor of shape (batch, n_components)
            ``mu``.
        """
        return self.posterior(x)[0]

    def encode_train(self, x: torch.Tensor, generator: torch.Generator | None) -> tuple[torch.Tensor, torch.Tensor]:
        """``([mu, logvar], z)``: the code for the KL penalty and a draw of z.

        Parameters
        ----------
        x : torch.Tensor of shape (batch, n_features)
            Inputs.
        generator : torch.Generator or None
            Source of the standard normal draws (None: PyTorch's global
            generator).

        Returns
        -------
        code : torch.Tensor of shape (batch, 2 * n_components)
            ``mu`` and ``logvar`` side by side, for the KL penalty.
        z : torch.Tensor of shape (batch, n_components)
            ``mu + exp(logvar / 2) * eps``, float32, with ``eps ~ N(0, I)``.
        """
        mu, logvar = self.posterior(x)
        # drawn in float32 whatever the autocast dtype: the same draws in every precision
        eps = torch.randn(mu.shape, generator=generator, device=mu.device)
        z = mu.float() + torch.exp(0.5 * logvar.float()) * eps
        return torch.cat([mu, logvar], dim=1), z

    def decode_logits(self, z: torch.Tensor) -> torch.Tensor:
        """Decoder pre-activations, before the output activation.

        Parameters
        ----------
        z : torch.Tensor of shape (batch, n_components)
            Latent codes.

        Returns
        -------
        torch.Tensor of shape (batch, n_features)
            ``base``'s ``decode_logits``.
        """
        return self.base.decode_logits(z)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """The mean of p(x|z).

        Parameters
        ----------
        z : torch.Tensor of shape (batch, n_components)
            Latent codes.

        Returns
        -------
        torch.Tensor of shape (batch, n_features)
            ``base``'s ``decode``.
        """
        return self.base.decode(z)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Reconstruct ``x`` from its posterior mean: ``decode(encode(x))``.

        Parameters
        ----------
        x : torch.Tensor of shape (batch, n_features)
            Inputs.

        Returns
        -------
        torch.Tensor of shape (batch, n_features)
            Reconstructions.
        """
        return self.decode(self.encode(x))


class VariationalAutoencoder(Autoencoder):
    """Variational autoencoder: a Gaussian encoder q(z|x), trained on the negative ELBO.

    The encoder outputs the mean and log-variance of
    ``q(z|x) = N(mu(x), diag sigma^2(x))``; training decodes
    ``z = mu + sigma * eps`` and minimises the reconstruction negative
    log-likelihood plus ``beta`` times ``KL(q(z|x) || N(0, I))`` (Kingma &
    Welling, 2014; beta-VAE for ``beta != 1``). The likelihood is Bernoulli
    for ``loss="bce"`` (pixels in [0, 1]: the usual choice for images) and a
    unit-variance Gaussian for ``loss="mse"`` (standardised data:
    ``scaling="standard"``); the module docstring of
    :mod:`aekit.variational` gives the objective exactly.

    ``transform`` returns the posterior means ``mu`` (deterministic codes),
    ``reconstruct`` decodes them and ``inverse_transform`` decodes any code;
    :meth:`sample` decodes draws from the prior ``N(0, I)``;
    :meth:`elbo_samples` estimates each sample's ELBO, a lower bound on
    ``log p(x)`` in nats (:meth:`kl_samples` gives its KL part); as an
    anomaly score on images it is poor (see :meth:`elbo_samples`), so rank samples by
    ``score_samples``. ``score`` and ``score_samples`` stay what they are for
    every aekit autoencoder: the negative squared error of ``reconstruct``,
    so a VAE's errors compare with a plain autoencoder's and PCA's.
    Validation (``validation_scores_``) draws ``z`` too, with a fixed seed.

    Takes every parameter of :class:`~aekit.Autoencoder` (its docstring
    describes them) plus ``beta``, and has its fitted attributes plus
    those below.

    Parameters
    ----------
    n_components : int, default=2
        Size of the code (the dimension of z).
    beta : float, default=1.0
        Weight of the KL term (>= 0): 1 is the ELBO; above 1 a beta-VAE
        (more regular codes, blurrier reconstructions); 0 leaves an
        autoencoder whose codes are noisy only as far as it wants them to be.
    architecture : {"mlp", "conv"}, default="mlp"
        Network family, as in :class:`~aekit.Autoencoder`, limited to those
        with a linear code layer.
    pretraining : {"none"}, default="none"
        Only "none": the Gaussian encoder trains from scratch.

    Attributes
    ----------
    training_negative_elbo_ : float
        Mean negative ELBO (nats per sample, beta=1, one draw per sample) on
        the training data (not set for an iterable of batches; after
        ``partial_fit``, on the last call's chunk); also in ``aekit train``'s
        metrics.
    training_kl_ : float
        Its KL part (nats per sample): how much information the codes carry.

    Examples
    --------
    >>> import numpy as np
    >>> from aekit import VariationalAutoencoder
    >>> X = np.random.default_rng(0).random((200, 8))
    >>> vae = VariationalAutoencoder(n_components=2, hidden_layer_sizes=(16,), loss="bce", max_epochs=5,
    ...                              random_state=0).fit(X)
    >>> vae.transform(X).shape, vae.sample(3, random_state=0).shape
    ((200, 2), (3, 8))
    >>> bool(np.all(vae.elbo_samples(X) < 0))  # log-likelihood bounds of Bernoulli data
    True
    """

    _cli_name = "variational"
    _penalty_name = "KL term"  # what the training loss adds (loss curves say it)
    _streaming = True  # _fit measures the ELBO on an array or memory map, and skips it for a one-pass iterable

    _param_specs = {
        **Autoencoder._param_specs,
        "beta": Param("float", "weight of the KL term of the ELBO (1: the ELBO; >1: beta-VAE)", low=0),
    }

    def __init__(
        self,
        n_components=2,
        *,
        beta=1.0,
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
        self.beta = beta

    # ------------------------------------------------------------------ hooks
    def _check_params(self) -> None:
        super()._check_params()
        if self.architecture not in _LINEAR_CODE:
            raise ValueError(f"{type(self).__name__} needs a linear code layer for its mean and log-variance heads: "
                             f"architecture must be one of {set(_LINEAR_CODE)}; got {self.architecture!r}.")
        if self.pretraining != "none":
            raise ValueError(f"{type(self).__name__} trains its Gaussian encoder from scratch: pretraining must be "
                             f"'none'; got {self.pretraining!r}.")

    def _build_net(self, n_features: int) -> nn.Module:
        return GaussianEncoderNet(super()._build_net(n_features))

    def _make_penalty(self):
        # the trainer's loss is a mean over features: bce's is -log p(x|z) / n_features, mse's
        # 2 (-log p(x|z) - const) / n_features; the KL gets the same scale
        nats_scale = 1.0 if self.loss == "bce" else 2.0
        return GaussianKL(self.beta * nats_scale / self.n_features_in_)

    def _fit(self, X, mask=None):
        first = not (self.__dict__.get("_partial") and hasattr(self, "net_"))  # not each partial_fit chunk
        # X is what the network sees: pixels as they are, or any data after scaling="minmax"
        if first and self.loss == "mse" and isinstance(X, np.ndarray) and X.size and X.min() >= 0 and X.max() <= 1:
            # benchmarks/variational_collapse.py: Fashion-MNIST, k=20: 4 of 20 units active (bce: 9), error x1.8
            logger.warning("%s: loss='mse' is a unit-variance Gaussian likelihood, far wider than the spread of %s "
                           "(values in [0, 1]), so the KL term switches most code units off (posterior collapse; "
                           "Fashion-MNIST, k=20: 4 of 20 active, 1.8 times bce's reconstruction error). For pixels "
                           "use loss='bce'; for other data scaling='standard'.", type(self).__name__,
                           "X" if self.scaling == "none" else f"X after scaling={self.scaling!r}")
        elif first and self.loss == "mse" and isinstance(X, np.ndarray) and X.size and self.scaling != "standard":
            sd = X.std(axis=0, dtype=np.float64)
            if sd.max() > 5.0 or np.median(sd) < 0.2:  # breast cancer unscaled: KL 76,600 nats, samples 7 sd off
                logger.warning("%s: loss='mse' is a Gaussian likelihood of variance 1 for every feature, but X's "
                               "columns have standard deviations from %.3g to %.3g (median %.3g), so the ELBO "
                               "and the samples are poor; pass scaling='standard'.", type(self).__name__,
                               sd.min(), sd.max(), np.median(sd))
        return super()._fit(X, mask)

    def _measure_fit(self, X, mask=None) -> None:
        """``training_negative_elbo_`` and ``training_kl_`` of the fitted network on its training input X."""
        if isinstance(X, (np.ndarray, ArraySource)):  # X is what the network sees (scaled); not a one-pass iterable
            nll, kl = self._elbo_terms(X, n_draws=1, random_state=0)
            self.training_negative_elbo_ = float((nll + kl).mean()) if nll.size else float("nan")
            self.training_kl_ = float(kl.mean()) if kl.size else float("nan")
        else:
            for name in ("training_negative_elbo_", "training_kl_"):
                self.__dict__.pop(name, None)

    def diagnostics(self) -> dict:
        """ELBO diagnostics on the training data, by name (JSON-able): ``negative_elbo_per_sample`` and
        ``kl_per_sample``, in nats (empty when they were not measured)."""
        check_is_fitted(self, "net_")
        if "training_kl_" not in self.__dict__:
            return {}
        return {"negative_elbo_per_sample": self.training_negative_elbo_, "kl_per_sample": self.training_kl_}

    # -------------------------------------------------------------- inference
    def _elbo_terms(self, A, n_draws: int, random_state) -> tuple[np.ndarray, np.ndarray]:
        """``(-E_q log p(x|z), KL)`` per row of network input ``A``, float64, the first by ``n_draws`` draws."""
        net = self.net_
        k = net.code_size
        # the same draws for every row: a row's estimate does not depend on the other rows of X, nor on their order
        eps = torch.from_numpy(check_random_state(random_state).standard_normal((n_draws, k)).astype(np.float32))
        eps = eps.to(next(net.parameters()).device)
        bernoulli = self.loss == "bce"
        const = 0.5 * math.log(2 * math.pi)

        wide = torch.float32 if eps.device.type == "mps" else torch.float64  # MPS has no float64

        def terms(x):
            mu, logvar = net.posterior(x)
            std = torch.exp(0.5 * logvar)
            nll = torch.zeros(x.shape[0], dtype=wide, device=x.device)
            for e in eps:
                z = mu + std * e
                if bernoulli:
                    per_entry = F.binary_cross_entropy_with_logits(net.decode_logits(z), x, reduction="none")
                else:
                    per_entry = 0.5 * (net.decode(z) - x).square() + const
                nll += per_entry.to(wide).sum(dim=1)
            return torch.stack([nll / n_draws, gaussian_kl(mu.to(wide), logvar.to(wide))], dim=1)

        parts = [out.astype(np.float64) for _, out in self._batches_out(terms, A)]
        both = np.concatenate(parts) if parts else np.zeros((0, 2))
        return both[:, 0], both[:, 1]

    def elbo_samples(self, X, *, n_draws=10, random_state=0):
        """Each sample's evidence lower bound, ``E_q[log p(x|z)] - KL(q(z|x) || N(0, I))``, in nats.

        A lower bound on ``log p(x)`` (with ``beta``'s weight 1 on the KL,
        whatever ``beta`` the model was trained with), estimated with
        ``n_draws`` draws of z per sample; the KL is exact. Higher means more
        likely under the model (the sign of scikit-learn's ``score_samples``),
        which is not the same as more typical: on one-class Fashion-MNIST the
        negative ELBO ranked anomalies with a mean ROC AUC of 0.735 against
        0.915 for the reconstruction error (``score_samples``), as dark,
        simple images get a good likelihood whatever the training class
        (``benchmarks/checks/vae_anomaly_score.py``). With ``scaling``, X's
        density in the scaled units the network learnt in.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        n_draws : int, default=10
            Draws of z per sample (the same ``n_draws`` standard-normal
            vectors for every sample, so a sample's value does not depend on
            the rest of X).
        random_state : int, RandomState instance or None, default=0
            Seeds the draws; the default gives the same values every call.

        Returns
        -------
        elbo : ndarray of shape (n_samples,), float64

        Raises
        ------
        ValueError
            If ``n_draws`` is not an integer >= 1, or, for ``loss="bce"``,
            X (scaled, with ``scaling``) has values outside [0, 1].
        """
        check_is_fitted(self, "net_")
        if isinstance(n_draws, bool) or not isinstance(n_draws, (int, np.integer)) or n_draws < 1:
            raise ValueError(f"n_draws must be an integer >= 1; got {n_draws!r}.")
        A = self._network_input(self._inference_X(X))
        # a Bernoulli likelihood exists for values in [0, 1] only: outside, "nats" came out above 0 (153 for digits
        # x 16), no lower bound on anything
        self._check_input_range(A, "; elbo_samples is a Bernoulli log-likelihood (loss='bce'), defined only there "
                                   "(score_samples gives the reconstruction error).")
        nll, kl = self._elbo_terms(A, int(n_draws), random_state)
        return -(nll + kl)

    def kl_samples(self, X):
        """``KL(q(z|x) || N(0, I))`` of each sample in nats: the information its code carries about it.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        kl : ndarray of shape (n_samples,), float64
        """
        check_is_fitted(self, "net_")
        net = self.net_
        out = self._apply(lambda x: gaussian_kl(*net.posterior(x)), self._network_input(self._inference_X(X)))
        return out.reshape(-1).astype(np.float64)

    def sample(self, n_samples=1, random_state=None):
        """Draw new samples: decode codes drawn from the prior ``N(0, I)``.

        Returns the decoder's means (Bernoulli probabilities for "bce", the
        Gaussian's mean for "mse"), in X's units (unscaled as
        ``inverse_transform`` does), not noisy draws from p(x|z): for images,
        what one wants to look at.

        Parameters
        ----------
        n_samples : int, default=1
        random_state : int, RandomState instance or None, default=None
            Seeds the codes; an int gives the same samples every call.

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_features), float32

        Raises
        ------
        ValueError
            If ``n_samples`` is not an integer >= 1.
        """
        check_is_fitted(self, "net_")
        if isinstance(n_samples, bool) or not isinstance(n_samples, (int, np.integer)) or n_samples < 1:
            raise ValueError(f"n_samples must be an integer >= 1; got {n_samples!r}.")
        Z = check_random_state(random_state).standard_normal((int(n_samples), self.net_.code_size))
        return self.inverse_transform(Z.astype(np.float32))
