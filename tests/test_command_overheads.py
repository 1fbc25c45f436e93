"""Work the commands and their functions no longer do twice, or at all: each test pins one finding of the
command-overhead hunt (benchmarks/checks/command_overheads.py measures them at full size).

Tiny seeded data, a few epochs: every test runs in well under a second.
"""

from __future__ import annotations

import sys
import types

import numpy as np
import pytest

from aekit import Autoencoder, SparseAutoencoder
from aekit.cli import main


class _Forbidden(types.ModuleType):
    """Stands in for a module a command must not touch: any attribute taken from it fails the test."""

    def __getattr__(self, name):
        raise AssertionError(f"{self.__name__}.{name} was used")


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A tiny autoencoder and a tiny sparse one, saved, and 40 rows of 16 features in [0, 1] as .npy."""
    root = tmp_path_factory.mktemp("models")
    X = np.random.default_rng(0).random((40, 16)).astype(np.float32)
    Autoencoder(n_components=2, hidden_layer_sizes=(8,), max_epochs=2, random_state=0).fit(X).save(root / "ae")
    SparseAutoencoder(n_components=4, hidden_layer_sizes=(8,), max_epochs=2, random_state=0).fit(X).save(root / "sp")
    np.save(root / "X.npy", X)
    return root


@pytest.mark.parametrize("command", [
    "evaluate {root}/sp {root}/X.npy",
    "errors {root}/ae {root}/X.npy --out {tmp}/errors.npy",
    "features {root}/sp {root}/X.npy --out {tmp}/codes.npy",
])
def test_commands_without_figures_do_not_touch_plotting(command, saved, tmp_path, monkeypatch, capsys):
    # matplotlib takes ~0.5 s of a ~3 s command to import; evaluate, errors and features imported it without a figure
    monkeypatch.setitem(sys.modules, "aekit.plotting", _Forbidden("aekit.plotting"))
    assert main(command.format(root=saved, tmp=tmp_path).split() + ["--quiet"]) == 0
