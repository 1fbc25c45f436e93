"""VariationalAutoencoder edge cases found by a bug hunt: each test failed before its fix."""

import numpy as np
import pytest

from aekit import VariationalAutoencoder
from aekit.cli import main
from aekit.datasets import load_digits
from aekit.streaming import Batches

SMALL = dict(n_components=2, hidden_layer_sizes=(8,), max_epochs=1, random_state=0, device="cpu")


@pytest.fixture(scope="module")
def pixels():
    """Digits pixels in [0, 1]."""
    return load_digits().X_train[:300]


def test_trains_from_an_iterable_of_batches_and_a_memory_map(pixels, tmp_path):
    """_fit handles streamed sources, but the class did not say so: a DataLoader / Batches was refused with
    'cannot train from Batches' and a memory-mapped .npy was read into memory whole."""
    vae = VariationalAutoencoder(**{**SMALL, "loss": "bce", "max_epochs": 2})
    vae.fit(Batches(lambda: iter(np.array_split(pixels, 4))))
    assert vae.n_iter_ == 2 and vae.diagnostics() == {}  # no second pass over a one-pass iterable
    np.save(tmp_path / "x.npy", pixels)
    mapped = vae.fit(np.load(tmp_path / "x.npy", mmap_mode="r"))
    in_memory = VariationalAutoencoder(**{**SMALL, "loss": "bce", "max_epochs": 2}).fit(pixels)
    assert mapped.training_negative_elbo_ == in_memory.training_negative_elbo_


@pytest.fixture(scope="module")
def model_dir(pixels, tmp_path_factory):
    path = tmp_path_factory.mktemp("vae") / "vae"
    VariationalAutoencoder(**{**SMALL, "loss": "bce"}).fit(pixels).save(path)
    return path


def test_sample_more_than_memory_holds_is_one_line(model_dir, tmp_path, capsys):
    """--n 10**13 ended in a MemoryError traceback ('Unable to allocate 146. TiB')."""
    out = tmp_path / "s.npy"
    assert main(["sample", str(model_dir), "--n", str(10**13), "--out", str(out), "-q"]) == 2
    err = capsys.readouterr().err
    assert "do not fit in memory; draw fewer" in err and len(err.strip().splitlines()) == 1 and not out.exists()
