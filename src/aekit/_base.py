"""The :class:`Autoencoder` estimator: scikit-learn interface over a PyTorch net.

Subclasses (sparse, denoising, imputing) reuse everything here and change
behaviour through four hooks: :meth:`Autoencoder._code_activation`,
:meth:`Autoencoder._make_penalty`, :meth:`Autoencoder._make_corruption` and
:meth:`Autoencoder._build_net`.
"""

from __future__ import annotations

import logging

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.utils.metaestimators import available_if

from ._builders import ARCHITECTURES
from ._fitting import fit_run, pretrain_net
from ._inference_mixin import InferenceMixin
from ._input_checks import InputChecksMixin
from ._params import Param
from ._scaling import SCALINGS
from .losses import LOSSES
from .nets import ACTIVATIONS, OUTPUT_ACTIVATIONS
from .pretraining import PRETRAINERS
from .training import TrainingDivergedError
from .training import LR_SCHEDULES, OPTIMIZERS, PRECISIONS

__all__ = ["Autoencoder"]

logger = logging.getLogger(__name__)

class Autoencoder(InputChecksMixin, InferenceMixin, ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """Deep (or shallow) autoencoder with a scikit-learn interface.

    The encoder maps ``n_features -> hidden_layer_sizes... -> n_components``
    and a mirrored decoder maps back; the code layer is linear, as in
    Hinton & Salakhutdinov (2006). ``transform`` encodes,
    ``inverse_transform`` decodes, ``score`` is the negative reconstruction
    error, so the estimator drops in wherever PCA does.

    Parameters
    ----------
    n_components : int, default=2
        Size of the code.
    hidden_layer_sizes : int or tuple of int, default=(256, 128)
        Encoder hidden widths, outermost first; the decoder mirrors them.
        ``()`` gives a shallow autoencoder, an int one hidden layer (as in
        scikit-learn's ``MLPRegressor``).
    activation : str, default="relu"
        Hidden activation: "relu", "gelu", "sigmoid", "tanh", "elu", "silu"
        or "leaky_relu".
    output_activation : {"auto", "identity", "sigmoid"}, default="auto"
        "auto" picks sigmoid for ``loss="bce"`` and identity for "mse".
    loss : {"mse", "bce"}, default="mse"
        Reconstruction loss; "bce" (binary cross-entropy) needs X in [0, 1].
    optimizer : {"adam", "adamw", "sgd"}, default="adam"
        "sgd" uses Nesterov momentum ``momentum``.
    learning_rate : float, default=2e-3
        Step size (the peak step size for ``lr_schedule="onecycle"``).
    weight_decay : float, default=0.0
        L2 penalty on the weights (decoupled for "adamw").
    momentum : float, default=0.9
        SGD momentum.
    lr_schedule : {"constant", "cosine", "onecycle", "plateau", "warmup_plateau"}, default="warmup_plateau"
        Learning-rate schedule over ``max_epochs``. "warmup_plateau" ramps
        the rate up linearly over the first 200 steps (at most one epoch),
        then halves it when the monitored loss stops improving for
        ``n_iter_no_change // 2`` epochs.
    batch_size : int, default=128
        Minibatch size. The defaults for ``learning_rate``, ``lr_schedule``
        and ``batch_size`` reach PCA's test error on Fashion-MNIST with the
        784-1000-500-250-30 net in 2 epochs instead of about 7 for
        (1e-3, "constant", 256); see ``benchmarks/throughput.py``.
    max_epochs : int, default=200
        Epoch budget.
    max_time : float, optional
        Time budget in seconds for one call of ``fit``: training stops after
        the first epoch that ends past it (checked once per epoch, so an
        epoch is never cut short), keeping the best weights so far as
        early stopping does. Results then depend on the machine's speed;
        leave it None for reproducible runs.
    validation_fraction : float, default=0.1
        Fraction of the samples held out for early stopping; the best
        weights on it are restored. 0 stops on the training loss instead.
    n_iter_no_change : int, default=10
        Epochs without improvement before stopping.
    tol : float, default=1e-4
        Relative improvement of the monitored loss that counts.
    architecture : {"mlp", "conv", "fully_conv"}, default="mlp"
        Network family. "conv" is a convolutional encoder/decoder
        (:class:`aekit.conv.ConvAutoencoder`) whose ``hidden_layer_sizes``
        are the channels of its stride-2 stages (e.g. ``(32, 64)``) and whose
        code is a linear bottleneck of ``n_components``; "fully_conv" has no
        dense layer: its code is a map of ``n_components`` channels at the
        last stage's resolution (better for denoising). Both need
        ``image_shape``.
    image_shape : tuple of int, optional
        (height, width[, channels]) of image inputs, for image architectures;
        rows of X are such images flattened, channels last.
    pretraining : {"none", "rbm", "denoising"}, default="none"
        Greedy layer-wise pretraining before fine-tuning
        (:mod:`aekit.pretraining`): stacked RBMs trained by CD-1 as in
        Hinton & Salakhutdinov (2006), which needs ``activation="sigmoid"``,
        or stacked denoising autoencoders. Each layer trains for
        ``min(10, max_epochs)`` epochs on the training part of X; the
        weights initialise the encoder and (transposed) the decoder, then
        the whole net is fine-tuned. Needs ``architecture="mlp"``.
    precision : {"float32", "bfloat16"}, default="float32"
        "bfloat16" trains under mixed-precision autocast: faster on GPUs and
        on CPUs with native bfloat16 (AVX-512 BF16, AMX), several times
        slower on others (a warning is logged there).
    device : str, default="auto"
        "cpu", "cuda", "cuda:N", "mps" (Apple GPUs) or "auto" (CUDA when available, else the CPU).
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, the validation split, shuffling and
        noise; an int gives bit-identical results on CPU at a fixed number
        of torch threads (conv, fully_conv and unet nets differ between 1
        and 2 threads).
    verbose : bool, default=False
        Show a progress bar with epoch, loss and validation loss.
    warm_start : bool, default=False
        When the estimator is already fitted, ``fit`` trains its network
        further (up to ``max_epochs`` more epochs, with a fresh optimiser
        and schedule) instead of starting from new random weights: to
        fine-tune on new data, or to train longer. The parameters that
        shape the network must be the same as when it was fitted.
    scaling : {"none", "standard", "minmax"}, default="none"
        Per-feature scaling fitted on the training data (``center_``,
        ``scale_``): the network sees ``(X - center_) / scale_``, by the
        columns' mean and standard deviation or minimum and range, and
        ``transform``, ``reconstruct`` and ``inverse_transform`` take and
        give X's own units. ``score``/``score_samples`` are then errors in
        scaled units, so columns in large units (a table's, not pixels) do
        not drown the others; the same as ``make_pipeline(StandardScaler(),
        Autoencoder())``, but one estimator that saves and loads whole (and
        ``aekit train --scaling standard``). A memory-mapped X is scaled as
        it streams; an iterable of batches is refused. ``partial_fit`` fits
        the scaling on its first call, ``warm_start`` keeps it (with a
        warning when new data lies far from it). In-memory
        float64 X is scaled before the float32 cast (a memory-mapped one is
        read as float32). Scores under different ``scaling`` are in different
        units: a ``GridSearchCV`` over it by ``score`` picks "minmax", whose
        units are the smallest.

    Attributes
    ----------
    net_ : torch.nn.Module
        The trained network, with ``encode`` and ``decode``.
    n_features_in_ : int
        Number of features seen during fit.
    loss_curve_ : list of float
        Training loss per epoch.
    validation_scores_ : list of float
        Validation loss per epoch (same objective as ``loss_curve_``; lower
        is better); empty without validation.
    n_iter_ : int
        Epochs run.
    best_epoch_ : int
        Epoch whose weights ``net_`` holds.
    fit_time_ : float
        Seconds spent in fit.
    center_, scale_ : ndarray of shape (n_features,)
        With ``scaling``: the column statistics the network's inputs are
        scaled by.
    scaling_ : str
        With ``scaling`` other than "none": the kind the statistics were
        fitted for (``warm_start`` and ``partial_fit`` refuse another).
    device_ : str
        Device the network was trained on (``device="auto"`` resolved),
        e.g. "cpu" or "cuda:0".
    feature_names_in_ : ndarray of str
        Only when X had string column names (a pandas DataFrame).

    Examples
    --------
    >>> import numpy as np
    >>> from aekit import Autoencoder
    >>> X = np.random.default_rng(0).random((200, 10))
    >>> ae = Autoencoder(n_components=3, hidden_layer_sizes=(16,), max_epochs=5,
    ...                  random_state=0).fit(X)
    >>> ae.transform(X).shape
    (200, 3)
    >>> ae.inverse_transform(ae.transform(X)).shape
    (200, 10)
    """

    _cli_name = "autoencoder"
    _scales_inputs = True  # the ``scaling`` parameter is applied here (AutoencoderImputer scales by itself)

    _param_specs = {
        "n_components": Param("int", "size of the code", low=1),
        "hidden_layer_sizes": Param("int_tuple", "encoder hidden widths (conv: stage channels), outermost first"),
        "activation": Param("str", "hidden activation", choices=tuple(ACTIVATIONS)),
        "output_activation": Param("str", "output activation", choices=("auto", *OUTPUT_ACTIVATIONS)),
        "loss": Param("str", "reconstruction loss", choices=tuple(LOSSES)),
        "optimizer": Param("str", "optimiser", choices=tuple(OPTIMIZERS)),
        "learning_rate": Param("float", "learning rate (peak rate for onecycle)", low=0, low_open=True),
        "weight_decay": Param("float", "L2 weight decay", low=0),
        "momentum": Param("float", "SGD momentum", low=0, high=1, high_open=True, only_with=("optimizer", ("sgd",))),
        "lr_schedule": Param("str", "learning-rate schedule", choices=LR_SCHEDULES),
        "batch_size": Param("int", "minibatch size", low=1),
        "max_epochs": Param("int", "maximum number of epochs", low=1),
        "max_time": Param("float", "time budget in seconds (checked after each epoch)", low=0, low_open=True,
                          none_ok=True, infinite_ok=True),
        "validation_fraction": Param("float", "fraction held out for early stopping (0: none)", low=0, high=1,
                                     high_open=True),
        "n_iter_no_change": Param("int", "epochs without improvement before stopping", low=1),
        "tol": Param("float", "relative improvement that counts for early stopping", low=0),
        "architecture": Param("str", "network family", choices=tuple(ARCHITECTURES)),
        "image_shape": Param("shape", "image shape H W [C] for image architectures", none_ok=True),
        "pretraining": Param("str", "greedy layer-wise pretraining", choices=("none", *PRETRAINERS)),
        "precision": Param("str", "training precision", choices=tuple(PRECISIONS)),
        "device": Param("device", "cpu, cuda, cuda:N, mps or auto"),
        "random_state": Param("seed", "seed for exact reproducibility", low=0, high=2**32 - 1, none_ok=True),
        "verbose": Param("bool", "progress bar"),
        "warm_start": Param("bool", "fit continues from the fitted network instead of a fresh one"),
        "scaling": Param("str", "per-feature scaling of X before the network; errors are then in scaled units "
                                "(standard: every column counts alike)", choices=SCALINGS),
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
    ):
        self.n_components = n_components
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.output_activation = output_activation
        self.loss = loss
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.momentum = momentum
        self.lr_schedule = lr_schedule
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.max_time = max_time
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.architecture = architecture
        self.image_shape = image_shape
        self.pretraining = pretraining
        self.precision = precision
        self.device = device
        self.random_state = random_state
        self.verbose = verbose
        self.warm_start = warm_start
        self.scaling = scaling

    # ------------------------------------------------------------------ hooks
    def _code_activation(self):
        """Module applied to the code, or None for a linear code."""
        return None

    def _make_penalty(self):
        """``penalty(code) -> scalar`` added to the loss, or None."""
        return None

    def _make_corruption(self):
        """``corruption(x, generator) -> x_tilde`` applied to training batches, or None."""
        return None

    def _fit_callback(self):
        """Extra ``callback(trainer, epoch, logs) -> bool`` after each epoch (True stops), or None."""
        return None

    def _epoch_data(self):
        """``epoch_data(epoch) -> X or None`` giving fresh training data per epoch, or None."""
        return None

    def _pretrain(self, net, train_data, seed: int, device) -> None:
        """Greedy layer-wise pretraining of ``net`` before fine-tuning (:func:`aekit._fitting.pretrain_net`)."""
        pretrain_net(self, net, train_data, seed, device)

    def _pretraining_epochs(self) -> int:
        """Epochs per layer of greedy pretraining."""
        return min(10, self.max_epochs)

    def _resolved_output_activation(self) -> str:
        if self.output_activation == "auto":
            return LOSSES[self.loss].output_activation
        return self.output_activation

    def _image_shape_for(self, n_features: int) -> tuple[int, ...]:
        """``image_shape`` as a tuple, checked against the number of features of X."""
        shape = tuple(int(s) for s in self.image_shape)
        if int(np.prod(shape)) != n_features:
            raise ValueError(
                f"image_shape={shape} needs {int(np.prod(shape))} features per sample, but X has {n_features}."
            )
        return shape

    def _build_net(self, n_features: int) -> torch.nn.Module:
        """A fresh, randomly initialised network for ``n_features`` inputs."""
        return ARCHITECTURES[self.architecture](self, n_features)

    # -------------------------------------------------------------------- fit
    @classmethod
    def _streams(cls) -> bool:
        """Whether ``_fit`` takes a streamed source; a subclass overriding ``_fit`` must say so itself."""
        return cls._fit is Autoencoder._fit or bool(cls.__dict__.get("_streaming", False))

    def fit(self, X, y=None, *, checkpoint_dir=None, checkpoint_every=1, resume=False):
        """Train the autoencoder on X.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), memmap or iterable of batches
            Training data; any real dtype, converted to float32. A
            memory-mapped array (``np.load(path, mmap_mode="r", allow_pickle=False)``), a
            ``DataLoader`` or :class:`aekit.streaming.Batches` is streamed
            batch by batch instead of loaded (see :mod:`aekit.streaming`).
        y : None
            Ignored.
        checkpoint_dir : str or Path, optional
            Save the whole training state to ``checkpoint_dir/checkpoint.safetensors``
            every ``checkpoint_every`` epochs, at the end, and on SIGINT/SIGTERM/SIGUSR1
            (see :mod:`aekit.checkpoint`).
        checkpoint_every : int, default=1
            Epochs between checkpoints.
        resume : bool, default=False
            Continue from the checkpoint in ``checkpoint_dir``, if any; the
            result is the same as an uninterrupted fit.

        Returns
        -------
        self : Autoencoder
            The fitted estimator.

        Raises
        ------
        TrainingDivergedError
            (a ``ValueError``) If the loss became NaN or infinite; ``net_``
            then holds the weights from before the diverging epoch.
        """
        from .checkpoint import checkpointing

        self.__dict__.pop("_partial_state", None)  # a fit starts a new run: partial_fit's optimiser state goes
        X = self._checked_training_input(X, partial=False)
        with checkpointing(self, checkpoint_dir, checkpoint_every, resume):
            return self._fit(X)

    def _partial_fit_available(self) -> bool:
        # as MLPRegressor's partial_fit is absent for solver="lbfgs": hasattr(est, "partial_fit") tells
        if type(self).fit is not Autoencoder.fit:  # the imputer: its fit scales the data and masks the holes
            raise AttributeError(f"{type(self).__name__} has no partial_fit: it trains with fit (warm_start=True "
                                 "continues a fitted one).")
        if self.pretraining != "none":
            raise AttributeError(f"partial_fit is not available with pretraining={self.pretraining!r}: it trains "
                                 "one epoch at a time, with no pretraining stage. Use pretraining='none'.")
        return True

    @available_if(_partial_fit_available)
    def partial_fit(self, X, y=None):
        """Train one epoch on X, continuing from the current network (incremental learning).

        The scikit-learn idiom for data that arrives in chunks or does not
        fit in memory (as :class:`sklearn.decomposition.IncrementalPCA`):
        call it once per chunk, as many passes as wanted. The first call
        builds the network, unless the estimator is fitted already (by
        ``fit``, :func:`aekit.load` or an earlier call), in which case it
        continues from its weights. The optimiser's state (Adam's moments),
        the shuffling and noise generators and ``loss_curve_`` carry over
        from one call to the next. There is no validation split, early
        stopping, learning-rate schedule, pretraining or ``max_time``: the
        step size is ``learning_rate`` throughout, as in
        ``MLPRegressor.partial_fit``; ``set_params(learning_rate=...)``
        between calls changes it (a schedule by hand) and keeps the
        optimiser's moments; another ``optimizer`` starts afresh.
        ``n_iter_`` counts the calls.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), memmap or iterable of batches
            This call's data, shuffled and seen once.
        y : None
            Ignored.

        Returns
        -------
        self : Autoencoder

        Raises
        ------
        ValueError
            If X's number of features differs from the earlier calls', or
            the parameters that shape the network changed since.
        AttributeError
            With ``pretraining`` other than "none", and on
            :class:`AutoencoderImputer` (``hasattr(est, "partial_fit")`` is
            False there).

        Examples
        --------
        >>> import numpy as np
        >>> from aekit import Autoencoder
        >>> X = np.random.default_rng(0).random((300, 10))
        >>> ae = Autoencoder(n_components=3, hidden_layer_sizes=(16,), random_state=0)
        >>> for chunk in np.array_split(X, 3):
        ...     ae = ae.partial_fit(chunk)
        >>> ae.n_iter_, len(ae.loss_curve_)
        (3, 3)
        """
        X = self._checked_training_input(X, partial=True)
        self._partial = True
        try:
            return self._fit(X)
        finally:
            del self._partial

    def _fit(self, X, mask: np.ndarray | None = None):
        """Train on validated float32 X (or a streamed source); ``mask`` marks observed entries (1) if given.

        Subclasses wrap it for statistics of X taken before; the training
        itself is :func:`aekit._fitting.fit_run`, and :meth:`_measure_fit`
        follows it, after a completed fit and after one stopped (the stop
        button, a divergence) that kept a network.
        """
        try:
            fitted = fit_run(self, X, mask)
        except (KeyboardInterrupt, TrainingDivergedError):
            # the estimator keeps the network trained so far (a notebook's stop button; the weights from before a
            # divergence): what is measured on it is that network's, not the previous fit's
            if "net_" in self.__dict__:
                self._measure_fit(X, mask)
            raise
        self._measure_fit(X, mask)
        return fitted

    def _measure_fit(self, X, mask: np.ndarray | None) -> None:
        """Fitted diagnostics of ``net_`` on its training input (the sparse codes' activity, a VAE's ELBO)."""

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float32"]
        tags.non_deterministic = False
        return tags

    # ------------------------------------------------------------ persistence
    def save(self, path):
        """Save to a model directory (safetensors weights + JSON); see :func:`aekit.load`.

        Parameters
        ----------
        path : str or Path
            Model directory to write, atomically: a new path, an empty
            directory, or a model directory to replace.

        Returns
        -------
        Path
            The directory written.
        """
        from .persistence import save

        return save(self, path)

