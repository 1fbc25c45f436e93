"""How aekit behaves for someone working in a Jupyter notebook, simulated in-process.

IPython's display machinery (``IPython.core.formatters``) is what a notebook
uses to show a cell's result; the stop button raises ``KeyboardInterrupt``.
"""

import numpy as np
import pytest

from aekit import plotting

IPython = pytest.importorskip("IPython")


def _notebook_display(obj):
    """The MIME bundle a Jupyter notebook gets for ``obj`` as a cell's result."""
    from IPython.core.formatters import DisplayFormatter

    data, _ = DisplayFormatter().format(obj)
    return data


FIGURES = {
    "loss_curve": lambda: plotting.loss_curve([3.0, 2.0, 1.5], [3.1, 2.2, 1.9]),
    "activation_histogram": lambda: plotting.activation_histogram(np.random.default_rng(0).random((50, 4))),
    "image_rows": lambda: plotting.image_rows([("x", np.random.default_rng(0).random((3, 16)))], (4, 4)),
    "filter_grid": lambda: plotting.filter_grid(np.random.default_rng(0).random((4, 16)), (4, 4)),
    "code_scatter": lambda: plotting.code_scatter({"codes": np.random.default_rng(0).random((30, 2))},
                                                  np.arange(30) % 3),
}


@pytest.mark.parametrize("name", sorted(FIGURES))
def test_returned_figures_show_inline_in_a_notebook(name):
    # a figure built without pyplot showed as the text "<Figure size 600x400 with 1 Axes>"
    data = _notebook_display(FIGURES[name]())
    assert data["image/png"][:8] == b"\x89PNG\r\n\x1a\n"
    assert data["text/plain"].startswith("<Figure size")


def test_figure_is_shown_once_with_matplotlib_inline_active():
    # %matplotlib inline registers its own PNG formatter for Figure; IPython then uses that
    # one instead of _repr_png_: one picture, not two
    from IPython.core.formatters import DisplayFormatter
    from matplotlib.figure import Figure

    formatter = DisplayFormatter()
    calls = []
    formatter.formatters["image/png"].for_type(Figure, lambda fig: calls.append(fig) or b"inline")
    data, _ = formatter.format(FIGURES["loss_curve"]())
    assert data["image/png"] == b"inline" and len(calls) == 1


def _stop_after(n_epochs):
    """A callback acting as the notebook's stop button: KeyboardInterrupt after ``n_epochs`` epochs."""
    def callback(trainer, epoch, logs):
        if epoch >= n_epochs:
            raise KeyboardInterrupt
        return False
    return callback


def test_interrupted_fit_keeps_the_epochs_trained_and_warm_start_continues():
    from aekit import Autoencoder

    X = np.random.default_rng(0).random((120, 6)).astype(np.float32)
    ae = Autoencoder(n_components=2, hidden_layer_sizes=(8,), max_epochs=50, random_state=0)
    ae._fit_callback = lambda: _stop_after(3)
    with pytest.raises(KeyboardInterrupt):
        ae.fit(X)
    # it was left unfitted: the 3 epochs trained were lost to the stop button
    assert ae.n_iter_ == 3 and len(ae.loss_curve_) == 3
    assert ae.transform(X).shape == (120, 2)
    del ae._fit_callback
    ae.set_params(warm_start=True, max_epochs=2).fit(X)
    assert ae.n_iter_ == 2


def test_interrupted_refit_on_other_data_leaves_a_consistent_model():
    from aekit import Autoencoder

    rng = np.random.default_rng(0)
    A = rng.normal(size=(100, 6)).astype(np.float32)
    B = (rng.normal(size=(100, 5)) * 100 + 50).astype(np.float32)
    ae = Autoencoder(n_components=2, hidden_layer_sizes=(8,), max_epochs=3, random_state=0,
                     scaling="standard").fit(A)
    ae._fit_callback = lambda: _stop_after(2)
    with pytest.raises(KeyboardInterrupt):
        ae.fit(B)
    # n_features_in_ and center_ were B's while net_ was still A's 6-input network
    assert ae.net_.encoder[0].in_features == ae.n_features_in_ == 5
    assert np.isfinite(ae.score(B))


def test_interrupted_warm_start_updates_the_history_with_the_weights():
    import torch

    from aekit import Autoencoder

    X = np.random.default_rng(0).random((120, 6)).astype(np.float32)
    ae = Autoencoder(n_components=2, hidden_layer_sizes=(8,), max_epochs=6, random_state=0,
                     validation_fraction=0).fit(X)
    before = [p.detach().clone() for p in ae.net_.parameters()]
    ae.set_params(warm_start=True)
    ae._fit_callback = lambda: _stop_after(2)
    with pytest.raises(KeyboardInterrupt):
        ae.fit(X)
    # the weights had trained on while n_iter_ and loss_curve_ still told of the first fit
    assert any(not torch.equal(a, b) for a, b in zip(before, ae.net_.parameters()))
    assert ae.n_iter_ == 2 and len(ae.loss_curve_) == 2


def test_progress_in_a_notebook_without_ipywidgets_is_a_bar(monkeypatch):
    # without ipywidgets tqdm.auto gives the text bar, and a kernel's stderr is no TTY: the notebook
    # got a plain line every 10 s instead of a bar redrawn in place
    import io
    import sys
    import types

    from tqdm import tqdm

    from aekit._callbacks import Progress

    class ZMQInteractiveShell:  # what IPython.get_ipython() returns inside a Jupyter kernel
        pass

    monkeypatch.setitem(sys.modules, "IPython", types.SimpleNamespace(get_ipython=ZMQInteractiveShell))
    stream = io.StringIO()  # not a TTY, as a kernel's stderr
    monkeypatch.setattr(sys, "stderr", stream)
    progress = Progress(total=3)
    try:
        assert isinstance(progress.bar, tqdm)
        for epoch in range(3):
            progress(None, epoch + 1, {"loss": 1.0, "val_loss": None})
    finally:
        progress.close()
    assert "\r" in stream.getvalue() and "3/3" in stream.getvalue()
    # a log file given in a notebook still gets whole lines
    log = io.StringIO()
    assert not isinstance(Progress(total=3, file=log).bar, tqdm)


def test_progress_outside_a_kernel_still_writes_lines(monkeypatch):
    import io
    import sys

    from tqdm import tqdm

    from aekit._callbacks import Progress

    monkeypatch.setattr(sys, "stderr", io.StringIO())
    assert not isinstance(Progress(total=3).bar, tqdm)


def test_interrupted_partial_fit_keeps_the_optimiser_state_of_its_weights(monkeypatch):
    # stopped mid-epoch, partial_fit kept the moved weights but the optimiser state of the previous call, so the
    # next call went on with Adam moments (and step count) that did not belong to those weights
    import torch

    from aekit import Autoencoder
    from aekit.training import Trainer

    X = np.random.default_rng(0).random((64, 6), dtype=np.float32)
    est = Autoencoder(n_components=2, hidden_layer_sizes=(4,), batch_size=8, random_state=0).partial_fit(X)
    assert est._partial_state["optimizer"]["state"][0]["step"] == 8
    first_shuffle = est._partial_state["shuffle_generator"].clone()
    real, calls = Trainer._objective, []

    def objective(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 4:
            raise KeyboardInterrupt
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Trainer, "_objective", objective)
    with pytest.raises(KeyboardInterrupt):
        est.partial_fit(X)
    assert est._partial_state["optimizer"]["state"][0]["step"] == 11  # 8 + the 3 steps taken
    # the second call's shuffle was drawn: the next call must not draw the same order again
    assert not torch.equal(est._partial_state["shuffle_generator"], first_shuffle)
    monkeypatch.setattr(Trainer, "_objective", real)
    est.partial_fit(X)  # and it goes on from there
    assert est._partial_state["optimizer"]["state"][0]["step"] == 19


def test_interrupted_pretraining_leaves_the_estimator_unfitted(monkeypatch):
    # stopped during greedy pretraining (before the trainer exists), a refit on data of another width left the new
    # n_features_in_ next to the previous fit's network
    from sklearn.exceptions import NotFittedError

    from aekit import Autoencoder

    rng = np.random.default_rng(0)
    est = Autoencoder(n_components=2, hidden_layer_sizes=(4,), max_epochs=1, pretraining="denoising",
                      random_state=0).fit(rng.random((32, 5), dtype=np.float32))

    def stop(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(Autoencoder, "_pretrain", stop)
    with pytest.raises(KeyboardInterrupt):
        est.fit(rng.random((32, 6), dtype=np.float32))
    assert not hasattr(est, "n_features_in_") and not hasattr(est, "net_")
    with pytest.raises(NotFittedError):
        est.transform(rng.random((4, 6), dtype=np.float32))
    monkeypatch.undo()
    assert est.fit(rng.random((32, 6), dtype=np.float32)).transform(rng.random((4, 6), dtype=np.float32)).shape == (4, 2)


def _measured_diagnostics(est, X):
    """What ``diagnostics()`` should say about ``est.net_``, measured afresh on the training data X."""
    from aekit import SparseAutoencoder
    from aekit.metrics import code_statistics

    if isinstance(est, SparseAutoencoder):
        stats = code_statistics(est.transform(X), threshold=est.activity_threshold_)
        return {"active_fraction": stats["active_fraction"], "dead_units": stats["dead_units"],
                "dead_fraction": stats["dead_fraction"], "mean_abs_code": stats["mean_abs"],
                "mean_activation": stats["mean_activation"]}
    return {"negative_elbo_per_sample": float(-est.elbo_samples(X, n_draws=1, random_state=0).mean()),
            "kl_per_sample": float(est.kl_samples(X).mean())}


@pytest.mark.parametrize("kind", ["sparse", "variational"])
def test_interrupted_fit_measures_the_network_it_keeps(kind):
    # the stop button kept the network trained so far, but the sparsity / ELBO diagnostics were those of the previous
    # fit (a first fit: SparseAutoencoder.diagnostics() said "not fitted yet", the VAE's was empty)
    from aekit import SparseAutoencoder, VariationalAutoencoder

    X = np.random.default_rng(0).random((200, 12)).astype(np.float32)
    make = {"sparse": lambda: SparseAutoencoder(n_components=16, max_epochs=1, random_state=0),
            "variational": lambda: VariationalAutoencoder(n_components=2, hidden_layer_sizes=(8,), loss="bce",
                                                          max_epochs=1, random_state=0)}[kind]
    refit = make().fit(X)
    before = refit.diagnostics()
    for est in (refit, make()):  # an interrupted refit, an interrupted first fit
        est.set_params(max_epochs=50)
        est._fit_callback = lambda: _stop_after(8)
        with pytest.raises(KeyboardInterrupt):
            est.fit(X)
        del est._fit_callback
        assert est.n_iter_ == 8
        assert est.diagnostics() == pytest.approx(_measured_diagnostics(est, X), rel=1e-5)
    assert refit.diagnostics() != pytest.approx(before, rel=1e-3)
