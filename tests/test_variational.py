"""VariationalAutoencoder: the KL term, the ELBO's units, sampling, resume, persistence and the command line."""

import json
import math
import os
import signal

import numpy as np
import pytest
import torch
import torch.distributed as dist
from sklearn.utils.estimator_checks import parametrize_with_checks

from _ddp import spawn_workers
from aekit import VariationalAutoencoder, distributed, load
from aekit.checkpoint import TrainingInterrupted
from aekit.cli import main
from aekit.datasets import load_digits
from aekit.training import Trainer
from aekit.variational import GaussianKL, gaussian_kl

SMALL = dict(hidden_layer_sizes=(8,), max_epochs=3, random_state=0, device="cpu")
SUBSET_REASON = ("score_samples sums the squared errors of a float32 network's outputs: rows computed in batches of "
                 "different sizes differ by float32 ulps (see test_base.py)")


@parametrize_with_checks([VariationalAutoencoder(n_components=2, **SMALL)],
                         expected_failed_checks=lambda est: {"check_methods_subset_invariance": SUBSET_REASON})
def test_sklearn_compatible(estimator, check):
    check(estimator)


@pytest.fixture(scope="module")
def digits():
    """Digits pixels in [0, 1]: 600 to train on, 200 held out."""
    X = load_digits().X_train
    return X[:600], X[600:800]


def _vae(**params):
    return VariationalAutoencoder(**{"n_components": 2, "loss": "bce", **SMALL, **params})


def test_kl_closed_form_matches_monte_carlo():
    g = torch.Generator().manual_seed(0)
    mu, logvar = torch.randn(3, 4, generator=g), torch.randn(3, 4, generator=g)
    std = torch.exp(0.5 * logvar)
    z = mu + std * torch.randn(200000, 3, 4, generator=g, dtype=torch.float64)
    normal = torch.distributions.Normal
    log_ratio = normal(mu.double(), std.double()).log_prob(z) - normal(0.0, 1.0).log_prob(z)
    np.testing.assert_allclose(gaussian_kl(mu, logvar).numpy(), log_ratio.sum(-1).mean(0).numpy(), rtol=0.02)
    assert float(gaussian_kl(torch.zeros(2, 5), torch.zeros(2, 5)).abs().max()) == 0.0  # q = prior
    code = torch.cat([mu, logvar], dim=1)
    assert float(GaussianKL(0.5)(code)) == pytest.approx(0.5 * float(gaussian_kl(mu, logvar).mean()), rel=1e-6)


@pytest.mark.parametrize("loss", ["bce", "mse"])
def test_the_training_objective_is_the_negative_elbo_per_feature(digits, loss):
    """The trainer's objective (validation: one seeded draw per sample) matches elbo_samples' nats."""
    X, X_val = digits
    vae = _vae(loss=loss, max_epochs=5).fit(X)
    D = X.shape[1]
    trainer = Trainer(vae.net_, loss=loss, penalty=vae._make_penalty())
    objective = trainer.evaluate(torch.from_numpy(X_val))
    nats = objective * D if loss == "bce" else objective * D / 2 + D / 2 * math.log(2 * math.pi)
    negative_elbo = -vae.elbo_samples(X_val, n_draws=200).mean()
    assert nats == pytest.approx(negative_elbo, rel=0.01)
    assert objective == trainer.evaluate(torch.from_numpy(X_val))  # validation draws are seeded


def test_elbo_per_sample_ignores_the_rest_of_x_and_kl_is_its_exact_part(digits):
    X, X_val = digits
    vae = _vae(max_epochs=15).fit(X)
    elbo = vae.elbo_samples(X_val)
    np.testing.assert_allclose(vae.elbo_samples(X_val[::-1]), elbo[::-1], rtol=1e-6)
    np.testing.assert_allclose(vae.elbo_samples(X_val[:7]), elbo[:7], rtol=1e-6)
    assert not np.array_equal(vae.elbo_samples(X_val, random_state=1), elbo)
    kl = vae.kl_samples(X_val)
    assert kl.shape == (200,) and (kl >= 0).all()
    # the reconstruction part is a Bernoulli negative log-likelihood summed over 64 pixels: > 0, < 64 log 2 for a
    # model that beats guessing 0.5 everywhere
    nll = -elbo - kl
    assert (nll > 0).all() and nll.mean() < 64 * math.log(2)
    assert vae.diagnostics()["kl_per_sample"] == pytest.approx(vae.kl_samples(X).mean(), rel=1e-5)


def test_training_lowers_the_negative_elbo_and_beta_trades_kl_for_reconstruction(digits):
    X, X_val = digits
    short = _vae(max_epochs=1).fit(X)
    vae = _vae(max_epochs=25).fit(X)
    assert -vae.elbo_samples(X_val).mean() < -short.elbo_samples(X_val).mean() - 2.0
    assert vae.loss_curve_[-1] < vae.loss_curve_[0]
    free = _vae(max_epochs=25, beta=0.0).fit(X)  # beta=0: reconstruction only, the codes may carry anything
    assert float(GaussianKL(0.0)(torch.ones(2, 4))) == 0.0
    assert free.kl_samples(X_val).mean() > 2 * vae.kl_samples(X_val).mean()
    assert -free.score(X_val) < -vae.score(X_val)  # sharper reconstructions from mu


def test_transform_is_mu_and_reconstruct_decodes_it(digits):
    X, _ = digits
    vae = _vae().fit(X)
    with torch.no_grad():
        mu, logvar = vae.net_.posterior(torch.from_numpy(X[:5]))
    np.testing.assert_allclose(vae.transform(X[:5]), mu.numpy(), rtol=1e-6)
    np.testing.assert_allclose(vae.reconstruct(X[:5]), vae.inverse_transform(vae.transform(X[:5])), rtol=1e-6)
    assert logvar.shape == (5, 2)
    again = _vae().fit(X)
    np.testing.assert_array_equal(again.transform(X), vae.transform(X))  # seeded draws: reproducible


def test_sample_draws_from_the_prior_in_the_data_units(digits):
    X, _ = digits
    vae = _vae().fit(X)
    S = vae.sample(6, random_state=3)
    assert S.shape == (6, 64) and S.dtype == np.float32 and ((S >= 0) & (S <= 1)).all()
    np.testing.assert_array_equal(vae.sample(6, random_state=3), S)
    assert not np.array_equal(vae.sample(6, random_state=4), S)
    shifted = VariationalAutoencoder(n_components=2, scaling="standard", **SMALL).fit(100.0 + 5.0 * X)
    assert 80 < shifted.sample(50, random_state=0).mean() < 120  # unscaled, as inverse_transform is
    for bad in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match="n_samples must be an integer >= 1"):
            vae.sample(bad)
    with pytest.raises(ValueError, match="n_draws must be an integer >= 1"):
        vae.elbo_samples(X, n_draws=0)


@pytest.mark.parametrize("params", [dict(precision="bfloat16"), dict(loss="mse", scaling="standard"),
                                    dict(architecture="conv", image_shape=(8, 8), hidden_layer_sizes=(4,))])
def test_variants_train(digits, params):
    X, _ = digits
    vae = _vae(**params).fit(X)
    assert np.isfinite(vae.loss_curve_).all() and np.isfinite(vae.elbo_samples(X[:5])).all()
    assert vae.sample(2, random_state=0).shape == (2, 64)


@pytest.fixture
def interrupt_at(monkeypatch):
    """A real SIGINT at the end of the given epoch (before the checkpoint callback), as in test_checkpoint.py."""

    def arm(epoch):
        original = Trainer._early_stopping

        def early_stopping(self, value, keep_best):
            if self.epoch == epoch:
                os.kill(os.getpid(), signal.SIGINT)
            return original(self, value, keep_best)

        monkeypatch.setattr(Trainer, "_early_stopping", early_stopping)
        return lambda: monkeypatch.setattr(Trainer, "_early_stopping", original)

    return arm


def test_interrupted_and_resumed_fit_is_bit_identical(digits, tmp_path, interrupt_at):
    X, _ = digits
    kw = dict(max_epochs=5, batch_size=64)
    reference = _vae(**kw).fit(X)
    disarm = interrupt_at(2)
    with pytest.raises(TrainingInterrupted):
        _vae(**kw).fit(X, checkpoint_dir=tmp_path)
    disarm()
    resumed = _vae(**kw).fit(X, checkpoint_dir=tmp_path, resume=True)
    a, b = reference.net_.state_dict(), resumed.net_.state_dict()
    assert list(a) == list(b) and all(torch.equal(a[k], b[k]) for k in a)
    assert resumed.loss_curve_ == reference.loss_curve_
    assert resumed.validation_scores_ == reference.validation_scores_


def test_partial_fit_continues_and_save_load_round_trips(digits, tmp_path):
    X, X_val = digits
    vae = _vae()
    for chunk in np.array_split(X, 3):
        vae.partial_fit(chunk)
    assert vae.n_iter_ == 3 and np.isfinite(vae.loss_curve_).all()
    vae.save(tmp_path / "m")
    back = load(tmp_path / "m")
    assert isinstance(back, VariationalAutoencoder) and back.beta == 1.0
    assert {"mu.weight", "logvar.weight"} <= set(back.net_.state_dict())
    np.testing.assert_array_equal(back.transform(X_val), vae.transform(X_val))
    np.testing.assert_array_equal(back.sample(5, random_state=7), vae.sample(5, random_state=7))
    np.testing.assert_array_equal(back.elbo_samples(X_val), vae.elbo_samples(X_val))
    assert back.training_kl_ == vae.training_kl_
    assert back.partial_fit(X).n_iter_ == 4


@pytest.mark.parametrize("params, message", [
    (dict(beta=-1.0), "beta must be >= 0"),
    (dict(architecture="fully_conv", image_shape=(8, 8), hidden_layer_sizes=(4,)),
     "needs a linear code layer .* architecture must be one of"),
    (dict(pretraining="denoising"), "pretraining must be 'none'"),
])
def test_parameter_errors(digits, params, message):
    with pytest.raises(ValueError, match=message):
        _vae(**params).fit(digits[0])


def test_command_line_train_encode_reconstruct_info_sample(digits, tmp_path, capsys):
    X, X_val = digits
    np.save(tmp_path / "x.npy", X)
    model = str(tmp_path / "vae")
    assert main(["train", str(tmp_path / "x.npy"), "--model", "variational", "--loss", "bce", "--beta", "0.5",
                 "--n-components", "2", "--hidden-layer-sizes", "8", "--max-epochs", "2", "--random-state", "0",
                 "--quiet", "--out", model]) == 0
    vae = load(model)
    assert isinstance(vae, VariationalAutoencoder) and vae.beta == 0.5
    metrics = json.loads((tmp_path / "vae" / "metrics.json").read_text())
    assert metrics["negative_elbo_per_sample"] > metrics["kl_per_sample"] > 0
    for command in ("encode", "reconstruct"):
        assert main([command, model, str(tmp_path / "x.npy"), "--out", str(tmp_path / f"{command}.npy"), "-q"]) == 0
    np.testing.assert_array_equal(np.load(tmp_path / "encode.npy"), vae.transform(X))
    assert main(["info", model]) == 0
    assert "VariationalAutoencoder" in capsys.readouterr().out
    out, fig = tmp_path / "s.npy", tmp_path / "s.png"
    assert main(["sample", model, "--n", "10", "--random-state", "2", "--out", str(out), "--figure", str(fig),
                 "-q"]) == 0
    np.testing.assert_array_equal(np.load(out), vae.sample(10, random_state=2))
    assert fig.read_bytes()[:4] == b"\x89PNG"
    capsys.readouterr()
    assert main(["sample", model, "--out", str(out), "-q"]) == 2  # never overwritten without --overwrite
    assert "exists; pass --overwrite" in capsys.readouterr().err
    assert main(["sample", model, "--out", str(out), "--overwrite", "--n", "3", "-q"]) == 0
    assert np.load(out).shape == (3, 64)
    for args, message in [(["--n", "0"], "--n must be >= 1"), (["--figure", str(tmp_path / "b.png"),
                                                                 "--image-shape", "4", "4"], "holds 16 values")]:
        assert main(["sample", model, "--out", str(tmp_path / "b.npy"), *args, "-q"]) == 2
        assert message in capsys.readouterr().err
    assert main(["train", str(tmp_path / "x.npy"), "--hidden-layer-sizes", "8", "--max-epochs", "1", "--quiet",
                 "--out", str(tmp_path / "ae")]) == 0
    assert main(["sample", str(tmp_path / "ae"), "--out", str(tmp_path / "a.npy")]) == 2
    assert "holds an Autoencoder, which cannot draw new samples" in capsys.readouterr().err
    assert main(["train", str(tmp_path / "x.npy"), "--model", "sparse", "--hidden-layer-sizes", "8", "--max-epochs",
                 "1", "--quiet", "--out", str(tmp_path / "sparse")]) == 0
    assert main(["sample", str(tmp_path / "sparse"), "--out", str(tmp_path / "a.npy")]) == 2
    assert "holds a SparseAutoencoder, which" in capsys.readouterr().err  # was "an SparseAutoencoder"
    assert not (tmp_path / "a.npy").exists() and not (tmp_path / "b.npy").exists()


def _ddp_worker(rank, world, init_file, out_dir):
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world)
    torch.set_num_threads(1)
    try:
        X = load_digits().X_train[:200]
        vae = _vae(max_epochs=2, batch_size=32).fit(X)
        torch.save(({k: v.clone() for k, v in vae.net_.state_dict().items()}, vae.loss_curve_ + vae.validation_scores_),
                   os.path.join(out_dir, f"rank{rank}.pt"))
        del vae
        distributed.leave()
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()


def test_data_parallel_training_keeps_the_ranks_in_step(tmp_path):
    (s0, c0), (s1, c1) = [torch.load(f) for f in spawn_workers(_ddp_worker, tmp_path, "rank{rank}.pt", 2)]
    assert all(torch.equal(s0[k], s1[k]) for k in s0) and c0 == c1 and np.isfinite(c0).all()


def _wide_posterior_net():
    """A GaussianEncoderNet whose posterior has log-variance log 4 (std 2) everywhere, not the initial 0."""
    from aekit.nets import MLPAutoencoder
    from aekit.variational import GaussianEncoderNet

    torch.manual_seed(0)
    net = GaussianEncoderNet(MLPAutoencoder(5, (4,), 3))
    with torch.no_grad():
        net.logvar.bias.fill_(math.log(4.0))
    return net


def test_reparameterisation_draws_z_with_the_posterior_standard_deviation():
    # z = mu + exp(logvar / 2) * eps: with logvar = log 4 the draws lie 2 eps from mu (exp(logvar) would give 4)
    net = _wide_posterior_net()
    x = torch.rand(6, 5, generator=torch.Generator().manual_seed(1))
    code, z = net.encode_train(x, torch.Generator().manual_seed(7))
    eps = torch.randn((6, 3), generator=torch.Generator().manual_seed(7))
    mu, logvar = net.posterior(x)
    torch.testing.assert_close(code, torch.cat([mu, logvar], dim=1))
    torch.testing.assert_close(z, mu + 2.0 * eps)


@pytest.mark.parametrize("loss", ["bce", "mse"])
def test_elbo_samples_match_a_hand_computed_elbo_with_a_wide_posterior(digits, loss):
    # one draw, eps from check_random_state(0) as elbo_samples documents; the posterior's std is 2, not 1, so
    # a draw made with exp(logvar) (std 4) or without it gives another bound
    X = digits[0][:40, :5].astype(np.float32)
    vae = VariationalAutoencoder(n_components=3, loss=loss, hidden_layer_sizes=(4,), max_epochs=1, random_state=0,
                                 device="cpu").fit(X)
    with torch.no_grad():
        vae.net_.logvar.weight.zero_()
        vae.net_.logvar.bias.fill_(math.log(4.0))
    eps = np.random.RandomState(0).standard_normal((1, 3))
    with torch.no_grad():
        x = torch.from_numpy(X[:4]).double()
        net = vae.net_.double()
        mu, logvar = net.posterior(x)
        z = mu + 2.0 * torch.from_numpy(eps)
        if loss == "bce":
            nll = torch.nn.functional.binary_cross_entropy_with_logits(net.decode_logits(z), x, reduction="none")
        else:
            nll = 0.5 * (net.decode(z) - x) ** 2 + 0.5 * math.log(2 * math.pi)
        kl = 0.5 * (mu**2 + 4.0 - 1.0 - math.log(4.0)).sum(dim=1)
        expected = -(nll.sum(dim=1) + kl).numpy()
        vae.net_.float()
    np.testing.assert_allclose(vae.elbo_samples(X[:4], n_draws=1, random_state=0), expected, rtol=1e-4)


@pytest.mark.parametrize("loss, nats_per_unit", [("bce", 1.0), ("mse", 0.5)])
def test_the_kl_penalty_is_in_the_units_of_the_training_loss(loss, nats_per_unit):
    # the loss is -log p(x|z) / D for bce and 2 (-log p(x|z) - const) / D for mse (a unit-variance Gaussian):
    # penalty * D * nats_per_unit must be the KL in nats, times beta
    X = np.random.default_rng(0).random((20, 6)).astype(np.float32)
    vae = VariationalAutoencoder(n_components=2, loss=loss, beta=3.0, hidden_layer_sizes=(4,), max_epochs=1,
                                 random_state=0, device="cpu").fit(X)
    g = torch.Generator().manual_seed(0)
    mu, logvar = torch.randn(5, 2, generator=g), torch.randn(5, 2, generator=g)
    penalty = float(vae._make_penalty()(torch.cat([mu, logvar], dim=1)))
    assert penalty * 6 * nats_per_unit == pytest.approx(3.0 * float(gaussian_kl(mu, logvar).mean()), rel=1e-5)


def test_a_bernoulli_elbo_refuses_values_outside_0_1(digits):
    # it gave "log-likelihoods" above 0 nats (153 for a digit x 16): no bound on anything
    X, _ = digits
    vae = _vae().fit(X)
    assert np.all(vae.elbo_samples(X[:5]) < 0)
    with pytest.raises(ValueError, match=r"loss='bce' needs X in \[0, 1\]; X has values in \[0, 16\]; "
                                         "elbo_samples is a Bernoulli"):
        vae.elbo_samples(X[:5] * 16)

