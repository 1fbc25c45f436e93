"""Write the saved-model fixtures that tests/test_model_fixtures.py loads: one tiny model per kind.

A model file written by one aekit version must load, and compute the same
outputs, in every later one (or be refused with a clear message once the
format changes): users keep models for years. These fixtures are written
once per file-format change and then never regenerated; a new aekit version
that changes the format adds a directory of its own beside them:

    python tests/data/make_model_fixtures.py tests/data/models/v<aekit version>

Each model directory holds the model (``aekit load``-able) and
``expected.npz``: the inputs and the outputs this version computed for them.
"""

import sys
from pathlib import Path

import numpy as np
import torch

import aekit
from aekit import (Autoencoder, AutoencoderImputer, ContractiveAutoencoder, DenoisingAutoencoder, ImputerEnsemble,
                   SparseAutoencoder, VariationalAutoencoder)
from aekit.checkpoint import checkpointing

SMALL = dict(hidden_layer_sizes=(6,), max_epochs=3, batch_size=16, random_state=0, device="cpu")


def models():
    """(name, estimator, training data, inputs to compute outputs on)."""
    rng = np.random.default_rng(0)
    X = rng.random((40, 8)).astype(np.float32)
    table = (rng.normal(size=(40, 8)) * [1, 10, 100, 1, 1, 1, 1, 1000]).astype(np.float64)
    holes = table.copy()
    holes[rng.random(holes.shape) < 0.2] = np.nan
    images = rng.random((40, 64)).astype(np.float32)
    return [
        ("autoencoder", Autoencoder(2, **SMALL), X, X[:5]),
        ("autoencoder_standard", Autoencoder(2, scaling="standard", **SMALL), table, table[:5]),
        ("autoencoder_conv", Autoencoder(2, architecture="conv", image_shape=(8, 8), hidden_layer_sizes=(4,),
                                         max_epochs=2, batch_size=16, random_state=0, device="cpu"),
         images, images[:5]),
        ("sparse_l1", SparseAutoencoder(4, sparsity="l1", **SMALL), X, X[:5]),
        ("sparse_topk", SparseAutoencoder(4, sparsity="topk", k=2, **SMALL), X, X[:5]),
        ("denoising", DenoisingAutoencoder(2, corruption="masking", corruption_level=0.3, **SMALL), X, X[:5]),
        ("contractive", ContractiveAutoencoder(2, contraction_weight=0.01, **SMALL), X, X[:5]),
        ("variational", VariationalAutoencoder(2, loss="bce", **SMALL), X, X[:5]),
        ("imputer", AutoencoderImputer(2, scaling="standard", max_iter=2, **SMALL), holes, holes[:5]),
        ("ensemble", ImputerEnsemble(AutoencoderImputer(2, scaling="standard", max_iter=1, **SMALL), n_members=2),
         holes, holes[:5]),
    ]


def outputs(est, A) -> dict:
    """What the fixture test compares: every inference method the estimator has."""
    out = {"transform": est.transform(A)}
    if hasattr(est, "reconstruct"):
        out["reconstruct"] = est.reconstruct(A)
    if hasattr(est, "inverse_transform") and not isinstance(est, (AutoencoderImputer, ImputerEnsemble)):
        out["inverse_transform"] = est.inverse_transform(out["transform"])
    if hasattr(est, "score_samples"):
        out["score_samples"] = est.score_samples(A)
    if hasattr(est, "elbo_samples"):
        out["elbo_samples"] = est.elbo_samples(A)
    return out


def main(root: Path) -> None:
    torch.set_num_threads(1)
    root.mkdir(parents=True, exist_ok=False)
    for name, est, train, A in models():
        est.fit(train)
        est.save(root / name)
        np.savez(root / name / "expected.npz", X=A, **outputs(est, A))
    # a checkpoint of a finished run: resuming it must rebuild the saved model
    name, est, train, _ = models()[0]
    with checkpointing(est, root / "checkpoint", resume=False):
        est.fit(train)
    est.save(root / "checkpoint_model")
    np.save(root / "checkpoint" / "train.npy", train)
    (root / "VERSION").write_text(f"aekit {aekit.__version__}, torch {torch.__version__}, numpy {np.__version__}\n")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
