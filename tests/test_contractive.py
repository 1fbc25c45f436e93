"""ContractiveAutoencoder: the Jacobian penalty, its estimate, and the estimator end to end."""

import json

import numpy as np
import pytest
import torch
from sklearn.utils.estimator_checks import parametrize_with_checks

from aekit import Autoencoder, ContractiveAutoencoder, load
from aekit.cli import main
from aekit.contractive import JacobianPenalty, jacobian_norms
from aekit.datasets import load_digits

SMALL = dict(hidden_layer_sizes=(8,), max_epochs=3, random_state=0, device="cpu")
SUBSET_REASON = ("score_samples sums the squared errors of a float32 network's outputs: rows computed in batches of "
                 "different sizes differ by float32 ulps (see test_base.py)")


@parametrize_with_checks([ContractiveAutoencoder(n_components=2, contraction_weight=0.01, **SMALL)],
                         expected_failed_checks=lambda est: {"check_methods_subset_invariance": SUBSET_REASON})
def test_sklearn_compatible(estimator, check):
    check(estimator)


@pytest.fixture(scope="module")
def digits():
    return load_digits().X_train[:600]


def _exact(encoder, x):
    J = torch.func.vmap(torch.func.jacrev(lambda v: encoder(v[None])[0]))(x)  # (batch, code, features)
    return J.square().sum(dim=(1, 2))


def test_penalty_is_an_unbiased_estimate_of_the_squared_jacobian_norm():
    torch.manual_seed(0)
    encoder = torch.nn.Sequential(torch.nn.Linear(5, 7), torch.nn.Tanh(), torch.nn.Linear(7, 3))
    x = torch.randn(4, 5, requires_grad=True)
    exact = float(_exact(encoder, x.detach()).mean().detach())  # the weights need grad: so does J
    generator = torch.Generator().manual_seed(0)
    estimates = [float(JacobianPenalty(2.0, samples=50)(encoder(x), x, generator).detach()) for _ in range(200)]
    assert np.mean(estimates) == pytest.approx(2.0 * exact, rel=0.02)
    penalty = JacobianPenalty(2.0)(encoder(x), x, generator)
    penalty.backward()  # differentiable: it trains the encoder
    assert encoder[0].weight.grad is not None and torch.isfinite(encoder[0].weight.grad).all()


def test_jacobian_norms_are_exact(digits):
    ae = Autoencoder(n_components=4, hidden_layer_sizes=(16,), activation="tanh", max_epochs=2,
                     random_state=0).fit(digits)
    x = torch.as_tensor(digits[:20])
    np.testing.assert_allclose(jacobian_norms(ae, digits[:20], batch_size=7), _exact(ae.net_.encode, x).detach().numpy(),
                               rtol=1e-5)


def test_contraction_shrinks_the_jacobian_and_zero_weight_is_the_plain_autoencoder(digits):
    params = dict(n_components=8, hidden_layer_sizes=(32,), max_epochs=10, random_state=0)
    plain = Autoencoder(**params).fit(digits)
    zero = ContractiveAutoencoder(contraction_weight=0.0, **params).fit(digits)
    np.testing.assert_array_equal(zero.transform(digits), plain.transform(digits))
    cae = ContractiveAutoencoder(contraction_weight=0.05, **params).fit(digits)
    assert jacobian_norms(cae, digits).mean() < 0.5 * jacobian_norms(plain, digits).mean()
    again = ContractiveAutoencoder(contraction_weight=0.05, **params).fit(digits)
    np.testing.assert_array_equal(again.transform(digits), cae.transform(digits))  # seeded projections


@pytest.mark.parametrize("params", [dict(precision="bfloat16"), dict(contraction_samples=3),
                                    dict(architecture="fully_conv", image_shape=(8, 8), hidden_layer_sizes=(4,))])
def test_variants_train(digits, params):
    cae = ContractiveAutoencoder(**{"n_components": 2, "contraction_weight": 0.01, **SMALL, **params}).fit(digits)
    norms = jacobian_norms(cae, digits[:5])
    assert norms.shape == (5,) and np.isfinite(norms).all() and np.isfinite(cae.loss_curve_).all()


def test_save_load_partial_fit_and_the_command_line(digits, tmp_path, capsys):
    cae = ContractiveAutoencoder(n_components=2, contraction_weight=0.01, **SMALL).fit(digits)
    cae.save(tmp_path / "m")
    back = load(tmp_path / "m")
    assert isinstance(back, ContractiveAutoencoder) and back.contraction_weight == 0.01
    np.testing.assert_array_equal(back.transform(digits), cae.transform(digits))
    assert back.partial_fit(digits).n_iter_ == cae.n_iter_ + 1
    np.save(tmp_path / "x.npy", digits)
    assert main(["train", str(tmp_path / "x.npy"), "--model", "contractive", "--contraction-weight", "0.01",
                 "--contraction-samples", "2", "--n-components", "2", "--hidden-layer-sizes", "8", "--max-epochs",
                 "2", "--random-state", "0", "--quiet", "--out", str(tmp_path / "cli")]) == 0
    model = load(tmp_path / "cli")
    assert (model.contraction_weight, model.contraction_samples) == (0.01, 2)
    assert json.loads((tmp_path / "cli" / "metrics.json").read_text())["epochs"] == 2


@pytest.mark.parametrize("params, message", [
    (dict(contraction_weight=-1.0), "contraction_weight must be >= 0"),
    (dict(contraction_samples=0), "contraction_samples must be >= 1"),
])
def test_parameter_errors(digits, params, message):
    with pytest.raises(ValueError, match=message):
        ContractiveAutoencoder(**params).fit(digits)


def test_jacobian_norms_refuses_an_imputer_which_has_no_code():
    # an imputer's network reads X scaled and its holes zeroed (mask_input: with "seen" flags, passing the observed
    # entries through), so the norms came out silently meaningless: n_features (8.0) for every row with mask_input
    from aekit import AutoencoderImputer, ImputerEnsemble

    X = np.random.default_rng(0).random((60, 8)).astype(np.float32)
    X[X > 0.9] = np.nan
    for imputer in (AutoencoderImputer(2, hidden_layer_sizes=(4,), max_epochs=1, random_state=0).fit(X),
                    AutoencoderImputer(2, hidden_layer_sizes=(4,), max_epochs=1, mask_input=True,
                                       random_state=0).fit(X),
                    ImputerEnsemble(AutoencoderImputer(2, hidden_layer_sizes=(4,), max_epochs=1), n_members=2,
                                    random_state=0).fit(X)):
        with pytest.raises(ValueError, match=f"an {type(imputer).__name__} has no code"):
            jacobian_norms(imputer, np.nan_to_num(X))
