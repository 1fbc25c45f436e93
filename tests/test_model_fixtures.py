"""Model files written by earlier aekit versions load, and compute what they computed then.

tests/data/models/v<version>/ holds one tiny model per kind, written by
tests/data/make_model_fixtures.py with that version (never regenerated), and
the outputs it computed (expected.npz). A change that breaks loading them, or
changes what a loaded model computes, fails here: users keep model files.
"""

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

import aekit
from aekit import Autoencoder, load
from aekit.checkpoint import checkpointing, read_checkpoint_info
from aekit.training import Trainer

ROOT = Path(__file__).parent / "data" / "models"
MODELS = sorted(p.parent for p in ROOT.glob("v*/*/expected.npz"))
KINDS = {"autoencoder": "Autoencoder", "autoencoder_standard": "Autoencoder", "autoencoder_conv": "Autoencoder",
         "sparse_l1": "SparseAutoencoder", "sparse_topk": "SparseAutoencoder", "denoising": "DenoisingAutoencoder",
         "contractive": "ContractiveAutoencoder", "variational": "VariationalAutoencoder",
         "imputer": "AutoencoderImputer", "ensemble": "ImputerEnsemble"}


def test_there_is_a_fixture_of_every_estimator_class():
    assert {p.name for p in MODELS if p.parent.name == "v0.1.0"} <= set(KINDS)  # the first version's set
    assert {KINDS[p.name] for p in MODELS} == {name for name in aekit.__all__ if name[0].isupper()}


@pytest.mark.parametrize("directory", MODELS, ids=[f"{p.parent.name}/{p.name}" for p in MODELS])
def test_an_old_model_file_loads_and_computes_what_it_did(directory, tmp_path):
    model = tmp_path / directory.name
    shutil.copytree(directory, model)  # loading must not need to write, but never touch the fixture
    est = load(model)
    assert type(est).__name__ == KINDS[directory.name]
    expected = np.load(directory / "expected.npz")
    X = expected["X"]
    got = {"transform": est.transform(X)}
    if "reconstruct" in expected:
        got["reconstruct"] = est.reconstruct(X)
    if "inverse_transform" in expected:
        got["inverse_transform"] = est.inverse_transform(expected["transform"])
    if "score_samples" in expected:
        got["score_samples"] = est.score_samples(X)
    if "elbo_samples" in expected:
        got["elbo_samples"] = est.elbo_samples(X)
    assert set(got) == set(expected.files) - {"X"}
    for name, value in got.items():
        # float32 networks: another torch or BLAS may round differently, nothing more
        np.testing.assert_allclose(value, expected[name], rtol=1e-4, atol=1e-5, err_msg=name)
    assert set(got) >= {"transform"} and np.isfinite(got["transform"]).all()


@pytest.mark.parametrize("version", sorted(p.name for p in ROOT.glob("v*")))
def test_an_old_checkpoint_resumes_to_the_model_it_trained(version, tmp_path, monkeypatch):
    ckpt = tmp_path / "checkpoint"
    shutil.copytree(ROOT / version / "checkpoint", ckpt)
    train = np.load(ckpt / "train.npy")
    saved = load(ROOT / version / "checkpoint_model")
    assert read_checkpoint_info(ckpt)["epoch"] == saved.n_iter_
    est = Autoencoder(**saved.get_params())
    epochs = []
    real_early_stopping = Trainer._early_stopping
    monkeypatch.setattr(Trainer, "_early_stopping", lambda self, *a, **kw: epochs.append(self.epoch) or
                        real_early_stopping(self, *a, **kw))
    with checkpointing(est, ckpt, resume=True):
        est.fit(train)  # already finished: nothing more to train
    assert epochs == []  # resumed, not trained again from the same seed
    assert est.n_iter_ == saved.n_iter_ and est.loss_curve_ == saved.loss_curve_
    for name, tensor in saved.net_.state_dict().items():
        assert torch.equal(est.net_.state_dict()[name], tensor), name
