"""The divergence guard: a NaN/inf loss stops training with a clear error and keeps the last good weights."""

import json

import numpy as np
import pytest
import torch

from aekit import Autoencoder, load
from aekit.cli import main
from aekit.training import Trainer, TrainingDivergedError


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_absurd_learning_rate_raises_and_keeps_finite_weights(small_X, optimizer):
    ae = Autoencoder(n_components=2, hidden_layer_sizes=(16,), optimizer=optimizer, learning_rate=1e10,
                     max_epochs=20, random_state=0)
    with pytest.raises(TrainingDivergedError, match=r"Training diverged at epoch \d+: the (training|validation) "
                                                    r"loss became (nan|inf).*try a lower learning_rate \(now 1e\+10\)"):
        ae.fit(small_X)
    assert all(torch.isfinite(p).all() for p in ae.net_.parameters())
    assert ae.best_epoch_ == ae.n_iter_ == len(ae.loss_curve_)
    assert np.isfinite(ae.transform(small_X)).all()
    assert isinstance(TrainingDivergedError("x"), ValueError)  # reported like any bad input


def test_weights_that_overflow_count_as_divergence(monkeypatch, small_X):
    """A finite running loss can hide weights that are already inf at the epoch's end."""
    original = Trainer._diverged

    def diverged(self, train_loss, val_loss):
        if self.epoch == 2:  # the loss of epoch 2 was finite, but its last step left an inf weight
            with torch.no_grad():
                next(self.net.parameters())[0, 0] = float("inf")
        return original(self, train_loss, val_loss)

    monkeypatch.setattr(Trainer, "_diverged", diverged)
    ae = Autoencoder(n_components=2, hidden_layer_sizes=(8,), max_epochs=5, validation_fraction=0, random_state=0)
    with pytest.raises(TrainingDivergedError, match="epoch 2: the weights became infinite or NaN"):
        ae.fit(small_X)
    assert all(torch.isfinite(p).all() for p in ae.net_.parameters()) and ae.n_iter_ == 1


@pytest.fixture
def data_file(tmp_path, rng):
    path = tmp_path / "d.npy"
    np.save(path, rng.random((60, 6)).astype(np.float32))
    return path


ARGS = ["--n-components", "2", "--hidden-layer-sizes", "8", "--random-state", "0", "--quiet"]


def test_cli_diverging_at_epoch_3_saves_the_weights_of_epoch_2(tmp_path, data_file, monkeypatch, capsys):
    original = Trainer._diverged
    monkeypatch.setattr(Trainer, "_diverged",
                        lambda self, t, v: "the training loss became nan" if self.epoch == 3 else original(self, t, v))
    out = tmp_path / "m"
    assert main(["train", str(data_file), "--out", str(out), "--max-epochs", "10", *ARGS]) == 3
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert err.startswith("aekit train: error: Training diverged at epoch 3: the training loss became nan.")
    assert "try a lower --learning-rate (now 0.002)" in err  # the flag, as the command line names it
    assert err.endswith(f"The weights of epoch 2 were saved to {out}.")
    model = load(out)
    assert model.n_iter_ == 2 and model.best_epoch_ == 2
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["epochs"] == 2 and metrics["diverged"].startswith("Training diverged at epoch 3")


def test_cli_diverging_at_once_saves_nothing(tmp_path, data_file, capsys):
    out = tmp_path / "m"
    code = main(["train", str(data_file), "--out", str(out), "--max-epochs", "5", "--learning-rate", "1e10",
                 "--optimizer", "sgd", *ARGS])
    err = capsys.readouterr().err.strip()
    assert code == 3 and len(err.splitlines()) == 1, err
    assert "Training diverged at epoch 1" in err and "lower --learning-rate" in err and not out.exists()
    assert err.endswith(f"Nothing was saved to {out}: no epoch finished.")  # not only "the weights were kept"


def test_cli_compare_reports_divergence_in_one_line(tmp_path, capsys):
    code = main(["compare", "--dataset", "digits", "--out", str(tmp_path / "c"), "--max-epochs", "3",
                 "--learning-rate", "1e10", "--optimizer", "sgd", *ARGS])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "Training diverged" in err, err
    assert not (tmp_path / "c").exists()
