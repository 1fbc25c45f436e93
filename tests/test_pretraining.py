"""Greedy layer-wise pretraining: stacked RBMs (CD-1) and stacked denoising autoencoders."""

import doctest

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits
from sklearn.utils.estimator_checks import parametrize_with_checks

from aekit import Autoencoder, _rbm_stack, pretraining
from aekit.nets import MLPAutoencoder
from aekit.pretraining import (LayerWeights, layer_reconstruction_errors, load_layers, pretrain, pretrain_denoising,
                               pretrain_rbm)

WIDTHS = (64, 128, 64, 32, 8)



@pytest.fixture(scope="module")
def digits():
    """scikit-learn's 8x8 digits in [0, 1]: 1400 train, 397 test."""
    X = load_digits().data.astype(np.float32) / 16.0
    return X[:1400], X[1400:]


def _net(activation="sigmoid", output_activation="sigmoid", seed=0):
    torch.manual_seed(seed)
    return MLPAutoencoder(WIDTHS[0], WIDTHS[1:-1], WIDTHS[-1], activation=activation,
                          output_activation=output_activation)


FAST = dict(n_components=2, hidden_layer_sizes=(8,), max_epochs=3, batch_size=16, random_state=0, device="cpu")


@parametrize_with_checks([Autoencoder(pretraining="rbm", activation="sigmoid", **FAST),
                          Autoencoder(pretraining="denoising", **FAST)])
def test_sklearn_compatible_with_pretraining(estimator, check):
    check(estimator)


def test_docstring_examples_run():
    result = doctest.testmod(pretraining)
    assert result.attempted > 0 and result.failed == 0


def _fine_tuned_errors(digits, activation, methods, max_epochs=20):
    X_train, X_test = digits
    errors = {}
    for pre in methods:
        ae = Autoencoder(n_components=8, hidden_layer_sizes=WIDTHS[1:-1], activation=activation, loss="bce",
                         pretraining=pre, max_epochs=max_epochs, batch_size=64, learning_rate=1e-3,
                         lr_schedule="constant", validation_fraction=0, random_state=0)
        errors[pre] = -ae.fit(X_train).score(X_test)
    return errors


def test_rbm_pretraining_helps_a_deep_logistic_net_at_a_fixed_fine_tuning_budget(digits):
    # 20 epochs of Adam fine-tuning a 64-128-64-32-8 net of logistic units on
    # 1400 digits: from random weights it has barely left the mean image, from
    # the RBM stack it reconstructs the digits (measured: 4.37 vs 1.96)
    errors = _fine_tuned_errors(digits, "sigmoid", ("none", "rbm"))
    assert errors["rbm"] < 0.6 * errors["none"], errors


def test_denoising_pretraining_does_not_help_a_gelu_net_with_adam(digits):
    # What pretraining does for modern units: nothing much. A GELU net trains
    # well from its default initialisation, and after the same 20 epochs the
    # denoising-pretrained one is slightly worse (measured: 1.25 without,
    # 1.40 with); both are far better than the logistic net without
    # pretraining. The layers it starts from are good autoencoders of their
    # inputs (next test), they are just not a better start for Adam.
    errors = _fine_tuned_errors(digits, "gelu", ("none", "denoising"))
    assert 0.8 < errors["denoising"] / errors["none"] < 1.3, errors
    assert max(errors.values()) < 2.0, errors


@pytest.mark.parametrize("method,activation", [("rbm", "sigmoid"), ("denoising", "sigmoid"),
                                               ("denoising", "relu")])
def test_pretrained_layers_reconstruct_their_input_better_than_random_ones(digits, method, activation):
    X_train, _ = digits
    X = torch.from_numpy(X_train)
    variance = X.var(0).mean()
    random_net = _net(activation)
    before = layer_reconstruction_errors(random_net, X)
    net = _net(activation)
    pretrain(net, X, method, activation=activation, output_activation="sigmoid", epochs=10, batch_size=32)
    after = layer_reconstruction_errors(net, X)
    assert len(after) == len(WIDTHS) - 1
    # every layer is an autoencoder of its own input: it reconstructs most of
    # the input's variance, where random weights reconstruct none of it
    # (measured: random 2.4 to 3e4, pretrained 0.03 to 0.46)
    assert all(b > 0.9 for b in before), before
    assert all(a < 0.5 for a in after), after
    # and the unrolled net, before any fine-tuning, already reconstructs the
    # digits (measured: 0.49 to 0.67 of the variance left, random weights 2.5)
    with torch.no_grad():
        unrolled = float((net(X) - X).square().mean() / variance)
        random = float((random_net(X) - X).square().mean() / variance)
    assert unrolled < 0.75 and random > 2.0, (unrolled, random)


def test_gaussian_visible_rbm_learns_real_valued_data(digits):
    # standardised pixels: the first RBM has Gaussian visible units, the net linear outputs
    X_train, _ = digits
    X = (X_train - X_train.mean(0)) / X_train.std()
    before = layer_reconstruction_errors(_net(output_activation="identity"), X)
    net = _net(output_activation="identity")
    layers = pretrain(net, X, "rbm", activation="sigmoid", output_activation="identity", epochs=10, batch_size=64)
    after = layer_reconstruction_errors(net, X)
    # measured: random [1.2, 1.4, 34, 4e3], pretrained [0.30, 0.13, 0.11, 0.16]
    assert all(b > 0.9 for b in before) and all(a < 0.5 for a in after), (before, after)
    assert all(torch.isfinite(layer.weight).all() for layer in layers)


def test_weights_land_in_encoder_and_transposed_in_decoder(digits):
    X_train, _ = digits
    net = _net()
    layers = pretrain(net, X_train[:200], "rbm", activation="sigmoid", output_activation="sigmoid", epochs=1)
    enc = [m for m in net.encoder if isinstance(m, torch.nn.Linear)]
    dec = [m for m in net.decoder if isinstance(m, torch.nn.Linear)][::-1]
    assert [tuple(layer.weight.shape) for layer in layers] == [(128, 64), (64, 128), (32, 64), (8, 32)]
    for layer, e, d in zip(layers, enc, dec):
        torch.testing.assert_close(e.weight, layer.weight)
        torch.testing.assert_close(e.bias, layer.hidden_bias)
        torch.testing.assert_close(d.weight, layer.weight.T)
        torch.testing.assert_close(d.bias, layer.visible_bias)


@pytest.mark.parametrize("fn,kwargs", [(pretrain_rbm, {"real_valued": False}),
                                       (pretrain_denoising, {"activation": "relu"})])
def test_pretraining_is_deterministic_for_a_seed(digits, fn, kwargs):
    X = torch.from_numpy(digits[0][:300])
    a = fn(X, WIDTHS, epochs=2, batch_size=50, seed=3, **kwargs)
    b = fn(X, WIDTHS, epochs=2, batch_size=50, seed=3, **kwargs)
    c = fn(X, WIDTHS, epochs=2, batch_size=50, seed=4, **kwargs)
    for la, lb in zip(a, b):
        assert torch.equal(la.weight, lb.weight) and torch.equal(la.visible_bias, lb.visible_bias)
    assert not torch.equal(a[0].weight, c[0].weight)


def test_estimator_with_pretraining_is_reproducible(digits):
    X_train, X_test = digits
    kw = dict(n_components=4, hidden_layer_sizes=(32, 16), activation="sigmoid", loss="bce", pretraining="rbm",
              max_epochs=3, random_state=7)
    a = Autoencoder(**kw).fit(X_train[:300])
    b = Autoencoder(**kw).fit(X_train[:300])
    np.testing.assert_array_equal(a.transform(X_test), b.transform(X_test))


def test_rbm_pretraining_needs_logistic_hidden_units(digits):
    ae = Autoencoder(n_components=2, hidden_layer_sizes=(8,), activation="relu", pretraining="rbm")
    with pytest.raises(ValueError, match="pretraining='rbm' needs activation='sigmoid'"):
        ae.fit(digits[0][:50])
    with pytest.raises(ValueError, match="pretraining='rbm' needs activation='sigmoid'"):
        pretrain(_net("relu"), digits[0][:50], "rbm", activation="relu", output_activation="sigmoid")


def test_pretraining_needs_the_mlp_architecture(digits):
    ae = Autoencoder(n_components=2, hidden_layer_sizes=(4,), architecture="conv", image_shape=(8, 8),
                     pretraining="denoising")
    with pytest.raises(ValueError, match="pretraining='denoising' needs architecture='mlp'"):
        ae.fit(digits[0][:50])


def test_unknown_method_lists_the_valid_ones(digits):
    with pytest.raises(ValueError, match=r"pretraining must be one of \{'rbm', 'denoising'\}; got 'pca'"):
        pretrain(_net(), digits[0][:50], "pca", activation="sigmoid", output_activation="sigmoid")
    with pytest.raises(ValueError, match=r"pretraining must be one of \{'none', 'rbm', 'denoising'\}"):
        Autoencoder(pretraining="pca").fit(digits[0][:50])


def test_load_layers_rejects_layers_that_do_not_fit():
    net = _net()
    wrong = [LayerWeights(torch.zeros(5, 64), torch.zeros(5), torch.zeros(64))] * 4
    with pytest.raises(ValueError, match=r"pretrained layer of shape \(5, 64\) does not fit"):
        load_layers(net, wrong)
    with pytest.raises(ValueError, match="1 pretrained layers for a network with 4 encoder layers"):
        load_layers(net, wrong[:1])


def test_diverging_rbm_says_what_to_do():
    # huge unscaled real values blow up Gaussian visible units
    X = torch.full((64, 6), 1e30)
    with pytest.raises(FloatingPointError, match="scale the input to unit variance"):
        pretrain_rbm(X, (6, 4, 2), real_valued=True, epochs=1, batch_size=32, learning_rate_linear=1.0)


def test_shallow_autoencoder_pretrains_its_single_layer(digits):
    ae = Autoencoder(n_components=6, hidden_layer_sizes=(), loss="bce", pretraining="denoising", max_epochs=2,
                     random_state=0).fit(digits[0][:200])
    assert np.isfinite(ae.score(digits[1]))


# ---------------------------------------------------------- memory-mapped data
def _memmap(tmp_path, A):
    path = tmp_path / "X.npy"
    np.save(path, A)
    return np.load(path, mmap_mode="r")


@pytest.mark.parametrize("method, activation, output", [("rbm", "sigmoid", "sigmoid"), ("rbm", "sigmoid", "identity"),
                                                         ("denoising", "relu", "identity")])
def test_pretraining_a_memory_map_streams_it_and_learns_the_same_weights(tmp_path, digits, method, activation,
                                                                         output):
    from aekit.streaming import ArraySource

    X = digits[0][:400]
    mask = (np.random.default_rng(0).random(X.shape) > 0.1).astype(np.float32)
    kw = dict(activation=activation, output_activation=output, epochs=2, batch_size=32, seed=3)
    in_memory, streamed = (MLPAutoencoder(64, (24, 12), 4, activation=activation) for _ in range(2))
    pretrain(in_memory, X * mask, method, **kw)
    pretrain(streamed, ArraySource(_memmap(tmp_path, X), mask), method, **kw)
    for (name, a), b in zip(in_memory.state_dict().items(), streamed.state_dict().values()):
        # the first layer sees the very same rows; the others their inputs computed a minibatch at a time
        # instead of all at once, which BLAS may round differently in the last bits
        torch.testing.assert_close(b, a, rtol=1e-4, atol=1e-5, msg=name)


def test_pretraining_a_memory_map_does_not_read_it_whole(tmp_path):
    import tracemalloc

    X = _memmap(tmp_path, np.random.default_rng(0).random((40_000, 64), dtype=np.float32))  # 10 MB
    ae = Autoencoder(n_components=4, hidden_layer_sizes=(16,), pretraining="denoising", max_epochs=1,
                     batch_size=256, validation_fraction=0.0, random_state=0, device="cpu")
    tracemalloc.start()
    try:
        ae._pretrain(MLPAutoencoder(64, (16,), 4), _source(X), 1, torch.device("cpu"))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < X.nbytes / 4, peak  # the whole file came into memory before (np.concatenate of its chunks)


def _source(X):
    from aekit.streaming import ArraySource

    return ArraySource(X)


def test_rbm_is_cd1_with_momentum_from_the_log_odds_start(monkeypatch):
    # mean-field units (no sampling) make CD-1 deterministic; two minibatches of one epoch, replayed by hand:
    # visible biases start at the log-odds of the mean activity, both biases move by (data - reconstruction),
    # and the momentum is 0.5 during the first 5 epochs (Hinton's practical guide)
    mean_field = {"logistic": lambda pre, g: (torch.sigmoid(pre), torch.sigmoid(pre)),
                  "linear": lambda pre, g: (pre, pre)}
    monkeypatch.setattr(_rbm_stack, "_UNITS", mean_field)
    V = torch.rand(8, 5, generator=torch.Generator().manual_seed(1))
    V[:, 0] = 1.0  # always on: its visible bias starts at logit(0.999)
    lr, cost = 0.5, 1e-3
    got = _rbm_stack._train_rbm(V, 3, "logistic", "logistic", epochs=1, batch_size=4, learning_rate=lr,
                               weight_cost=cost, generator=torch.Generator().manual_seed(0))

    g = torch.Generator().manual_seed(0)
    W = 0.01 * torch.randn(3, 5, generator=g)
    hb = torch.zeros(3)
    p = V.mean(0).clamp(1e-3, 1 - 1e-3)
    vb = torch.log(p / (1 - p))
    assert float(vb[0]) == pytest.approx(np.log(0.999 / 0.001), rel=1e-4)
    dW, dhb, dvb = torch.zeros_like(W), torch.zeros_like(hb), torch.zeros_like(vb)
    for idx in torch.split(torch.randperm(8, generator=g), 4):
        v0 = V[idx]
        h0 = torch.sigmoid(v0 @ W.T + hb)
        v1 = torch.sigmoid(h0 @ W + vb)
        h1 = torch.sigmoid(v1 @ W.T + hb)
        dW = 0.5 * dW + lr * ((h0.T @ v0 - h1.T @ v1) / 4 - cost * W)
        dhb = 0.5 * dhb + lr * (h0 - h1).mean(0)
        dvb = 0.5 * dvb + lr * (v0 - v1).mean(0)
        W, hb, vb = W + dW, hb + dhb, vb + dvb
    torch.testing.assert_close(got.weight, W, rtol=1e-5, atol=1e-7)
    torch.testing.assert_close(got.hidden_bias, hb, rtol=1e-5, atol=1e-7)
    torch.testing.assert_close(got.visible_bias, vb, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("method", ["rbm", "denoising"])
def test_data_of_another_width_than_the_net_is_named(method):
    # it failed inside the first layer's products ("mat1 and mat2 shapes cannot be multiplied")
    net = MLPAutoencoder(6, (4,), 2, activation="sigmoid")
    for X in (torch.rand(20, 5), np.random.default_rng(0).random((20, 7), dtype=np.float32)):
        with pytest.raises(ValueError, match=rf"X has {X.shape[1]} features, but the net's first layer takes 6"):
            pretrain(net, X, method, activation="sigmoid", output_activation="sigmoid", epochs=1)


def test_an_activation_unlike_the_nets_is_refused():
    # the layers were pretrained for one activation and fine-tuned under another, silently
    X = torch.rand(20, 6)
    with pytest.raises(ValueError, match="activation='tanh', but the net's hidden layers use 'relu'"):
        pretrain(MLPAutoencoder(6, (4,), 2), X, "denoising", activation="tanh", output_activation="identity")
    with pytest.raises(ValueError, match="pretraining='rbm' needs activation='sigmoid'"):  # checked first
        pretrain(MLPAutoencoder(6, (4,), 2), X, "rbm", activation="relu", output_activation="sigmoid")
    layers = pretrain(MLPAutoencoder(6, (4,), 2, activation="tanh"), X, "denoising", activation="tanh",
                      output_activation="identity", epochs=1)
    assert len(layers) == 2

