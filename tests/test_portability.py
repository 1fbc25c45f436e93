"""Portability: Windows and macOS behaviour simulated on Linux, and paths and locales that are not plain ASCII.

Nothing here runs on Windows or on Apple's MPS device: each test reproduces the platform fact that broke
aekit (``ctypes.CDLL(None)`` raising TypeError on Windows, a file with a live memory map that Windows
refuses to replace, MPS being available) with monkeypatching, and checks what aekit does about it.
"""

import ctypes
import os
import sys
from pathlib import Path

import numpy as np
import pytest

import aekit
from aekit import Autoencoder

TINY = dict(n_components=2, hidden_layer_sizes=(6,), batch_size=16, random_state=0)


@pytest.fixture
def X(rng):
    return rng.random((64, 8)).astype(np.float32)


def _windows_cdll(name, *args, **kwargs):
    if name is None:  # Windows' LoadLibrary takes no None: "LoadLibrary() argument 1 must be str, not None"
        raise TypeError("LoadLibrary() argument 1 must be str, not None")
    return _real_cdll(name, *args, **kwargs)


_real_cdll = ctypes.CDLL


# ------------------------------------------------------------------ Windows
def test_saving_over_a_model_directory_works_where_ctypes_cannot_open_the_process(tmp_path, X, monkeypatch):
    """Windows: ``ctypes.CDLL(None)`` raises TypeError; replacing a saved model with --overwrite must still work."""
    monkeypatch.setattr(ctypes, "CDLL", _windows_cdll)
    first = Autoencoder(**TINY, max_epochs=1).fit(X)
    second = Autoencoder(**TINY, max_epochs=3).fit(X)
    first.save(tmp_path / "m")
    second.save(tmp_path / "m")
    assert aekit.load(tmp_path / "m").n_iter_ == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m"]  # no temporary or old directory left
