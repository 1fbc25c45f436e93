"""Reproducibility as a researcher relies on it: seeds of every integer type, saved seeds, resumed runs.

What turned out fine in the hunt (same seed twice, in one process and in fresh
ones, for every estimator and architecture; the global RNGs untouched; resume
and ``partial_fit`` exact) is covered by test_checkpoint.py, test_incremental.py
and the estimators' own tests; these are the cases that were broken.
"""

import json

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits

from aekit import Autoencoder, AutoencoderImputer, ImputerEnsemble, load

SMALL = dict(n_components=4, hidden_layer_sizes=(16,), max_epochs=2, batch_size=64)


@pytest.fixture(scope="module")
def X():
    return (load_digits().data[:200] / 16).astype(np.float32)


@pytest.fixture(scope="module")
def X_missing(X):
    Xm = X.copy()
    Xm[np.random.default_rng(0).random(X.shape) < 0.3] = np.nan
    return Xm


def _same_weights(a, b) -> bool:
    sa, sb = a.net_.state_dict(), b.net_.state_dict()
    return list(sa) == list(sb) and all(torch.equal(sa[k], sb[k]) for k in sa)


@pytest.mark.parametrize("seed", [2**32, 2**63])
def test_a_seed_numpy_cannot_take_is_refused_by_name(X, X_missing, seed):
    # numpy seeds are 0 <= s < 2**32; fit used to fail with numpy's own "Seed must be between 0 and 2**32 - 1"
    with pytest.raises(ValueError, match=r"random_state must be <= 4294967295; got \d+"):
        Autoencoder(**SMALL, random_state=seed).fit(X)
    with pytest.raises(ValueError, match=r"random_state must be <= 4294967295; got \d+"):
        ImputerEnsemble(AutoencoderImputer(**SMALL), random_state=seed).fit(X_missing)
    Autoencoder(**SMALL, random_state=2**32 - 1).fit(X)  # the largest one works


def test_a_numpy_integer_seed_fills_like_the_same_int(X_missing):
    # seeds from np.arange are np.int64: the imputer's refinement noise fell back to seed 0 for them
    kw = dict(SMALL, max_iter=3, random_level=True)
    plain = AutoencoderImputer(**kw, random_state=5).fit(X_missing)
    numpy_int = AutoencoderImputer(**kw, random_state=np.int64(5)).fit(X_missing)
    assert _same_weights(plain, numpy_int)
    np.testing.assert_array_equal(plain.transform(X_missing), numpy_int.transform(X_missing))


def test_a_saved_ensemble_keeps_numpy_integer_seeds(X_missing, tmp_path):
    # they were written as None, so a loaded ensemble refitted (or cloned) was no longer reproducible
    ens = ImputerEnsemble(AutoencoderImputer(**SMALL, random_state=np.int64(4)), random_state=np.int64(3))
    ens.fit(X_missing).save(tmp_path / "ens")
    config = json.loads((tmp_path / "ens" / "ensemble.json").read_text())
    assert config["params"]["random_state"] == 3 and config["estimator_random_state"] == 4
    loaded = load(tmp_path / "ens")
    assert loaded.random_state == 3 and loaded.estimator.random_state == 4
    refit = loaded.fit(X_missing)
    again = ImputerEnsemble(AutoencoderImputer(**SMALL, random_state=4), random_state=3).fit(X_missing)
    assert all(_same_weights(a, b) for a, b in zip(refit.estimators_, again.estimators_))


def test_a_checkpoint_resumes_under_the_same_seed_as_a_plain_int(X, tmp_path):
    # a run started with np.int64(5) (or hidden_layer_sizes of numpy ints) was refused on resume with 5:
    # "random_state='np.int64(5)' there, 5 here"
    kw = dict(SMALL, max_epochs=4)
    Autoencoder(**{**kw, "max_epochs": 2, "hidden_layer_sizes": (np.int64(16),)}, random_state=np.int64(5)) \
        .fit(X, checkpoint_dir=tmp_path)
    with pytest.raises(ValueError, match="max_epochs=2 there, 4 here"):  # a real difference is still refused
        Autoencoder(**kw, random_state=5).fit(X, checkpoint_dir=tmp_path, resume=True)
    Autoencoder(**kw, random_state=np.int64(5)).fit(X, checkpoint_dir=tmp_path / "b", checkpoint_every=2)
    resumed = Autoencoder(**kw, random_state=5).fit(X, checkpoint_dir=tmp_path / "b", resume=True)
    assert _same_weights(resumed, Autoencoder(**kw, random_state=5).fit(X))


@pytest.mark.parametrize("seed", [-1, 2**64])
def test_evaluate_refuses_a_seed_out_of_range_by_name(X, X_missing, seed):
    # an imputer's hidden entries said numpy's "expected non-negative integer", a denoiser's noise took -1
    # and failed on 2**64 with "Overflow when unpacking long long"
    from aekit import DenoisingAutoencoder
    from aekit.evaluation import evaluate

    denoiser = DenoisingAutoencoder(**SMALL, random_state=0).fit(X)
    imputer = AutoencoderImputer(**SMALL, random_state=0).fit(X_missing)
    for model, data in [(denoiser, X), (imputer, X_missing)]:
        with pytest.raises(ValueError, match=r"random_state must be >= 0 and < 2\*\*64; got -?\d+"):
            evaluate(model, data, random_state=seed)
    assert evaluate(denoiser, X, random_state=2**64 - 1) == evaluate(denoiser, X, random_state=2**64 - 1)
