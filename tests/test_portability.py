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


def _mapped_files() -> set[str]:
    """Files this process has memory-mapped now (Linux's /proc/self/maps)."""
    with open("/proc/self/maps", encoding="utf-8", errors="replace") as fh:
        return {line.split(None, 5)[5].strip().removesuffix(" (deleted)") for line in fh
                if len(line.split(None, 5)) == 6 and line.split(None, 5)[5].startswith("/")}


needs_proc_maps = pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="needs Linux's /proc/self/maps")


@pytest.fixture
def windows_replace(monkeypatch):
    """``os.replace`` as on Windows: a file with a live memory map (or a directory holding one) cannot be
    replaced or renamed ("The requested operation cannot be performed on a file with a user-mapped section
    open", WinError 1224); Linux lets the old inode live on under the map."""
    real = os.replace

    def replace(src, dst):
        for path in (Path(src), Path(dst)):
            held = {m for m in _mapped_files() if Path(m) == path.absolute() or path.absolute() in Path(m).parents}
            if held:
                raise PermissionError(f"[WinError 1224] a user-mapped section is open: {sorted(held)[0]}")
        return real(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    monkeypatch.setattr(ctypes, "CDLL", _windows_cdll)


@needs_proc_maps
def test_a_loaded_model_keeps_no_file_of_its_directory_mapped(tmp_path, X):
    Autoencoder(**TINY, max_epochs=1, scaling="standard").fit(X).save(tmp_path / "m")
    model = aekit.load(tmp_path / "m")
    assert not {m for m in _mapped_files() if str(tmp_path) in m}
    assert model.transform(X).shape == (64, 2)


@needs_proc_maps
def test_a_loaded_model_can_be_saved_back_over_its_directory_on_windows(tmp_path, X, windows_replace):
    """Load, train on, save to the same directory (``aekit train --warm-start-from M --out M --overwrite``)."""
    Autoencoder(**TINY, max_epochs=1, scaling="standard").fit(X).save(tmp_path / "m")
    model = aekit.load(tmp_path / "m")  # its scaling's center_/scale_ are arrays read from model.safetensors
    model.set_params(warm_start=True, max_epochs=2).fit(X)
    model.save(tmp_path / "m")
    assert aekit.load(tmp_path / "m").n_iter_ == model.n_iter_


@needs_proc_maps
def test_a_resumed_fit_can_replace_its_checkpoint_on_windows(tmp_path, X, windows_replace, monkeypatch):
    """A resumed run writes its next checkpoint over the one it resumed from: that file must not stay mapped."""
    import signal

    from aekit.training import Trainer

    original = Trainer._early_stopping

    def interrupt(self, value, keep_best):
        if self.epoch == 2:
            os.kill(os.getpid(), signal.SIGINT)  # the checkpoint handler records it and stops after this epoch
        return original(self, value, keep_best)

    monkeypatch.setattr(Trainer, "_early_stopping", interrupt)
    kw = dict(TINY, max_epochs=4, optimizer="adam")
    with pytest.raises(KeyboardInterrupt, match="stopped after epoch 2"):
        Autoencoder(**kw).fit(X, checkpoint_dir=tmp_path)
    monkeypatch.setattr(Trainer, "_early_stopping", original)
    resumed = Autoencoder(**kw).fit(X, checkpoint_dir=tmp_path, resume=True)
    reference = Autoencoder(**kw).fit(X)
    assert resumed.n_iter_ == 4 and resumed.loss_curve_ == reference.loss_curve_


# ------------------------------------------------------------------ macOS (Apple's MPS device)
def _mps(monkeypatch, available: bool, built: bool = True):
    import torch

    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: available)
    monkeypatch.setattr(torch.backends.mps, "is_built", lambda: built)


@pytest.mark.parametrize("name", ["mps", "mps:0"])
def test_device_mps_is_accepted_where_mps_is_available(monkeypatch, name):
    import torch

    from aekit.training import resolve_device

    _mps(monkeypatch, True)
    assert resolve_device(name) == torch.device(name)
    assert resolve_device(torch.device("mps")).type == "mps"


def test_device_mps_where_it_is_not_available_says_why(monkeypatch):
    from aekit.training import resolve_device

    _mps(monkeypatch, False)
    with pytest.raises(ValueError, match=r"MPS is not available on this machine.*use device='cpu'"):
        resolve_device("mps")
    _mps(monkeypatch, False, built=False)
    with pytest.raises(ValueError, match="this PyTorch was built without MPS"):
        resolve_device("mps")
    with pytest.raises(ValueError, match="only one MPS device"):
        _mps(monkeypatch, True) or resolve_device("mps:1")


def test_auto_stays_on_cuda_or_cpu_where_mps_is_available(monkeypatch):
    """An opt-in, documented in the README: "auto" is CUDA, else the CPU, also on a Mac with MPS."""
    import torch

    from aekit.training import resolve_device

    _mps(monkeypatch, True)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("auto") == torch.device("cpu")


def test_the_estimator_and_cli_accept_mps(monkeypatch, X):
    from aekit.cli import build_parser

    _mps(monkeypatch, False)
    with pytest.raises(ValueError, match="MPS is not available"):
        Autoencoder(**TINY, max_epochs=1, device="mps").fit(X)
    assert build_parser().parse_args(["train", "x.npy", "--out", "m", "--device", "mps"]).device == "mps"


def test_float32_training_enters_no_autocast(monkeypatch, X):
    """torch before 2.5 raises for ``torch.autocast("mps", enabled=False)`` ("unsupported autocast device_type"):
    a float32 fit (the default) must not build an autocast context at all; bfloat16 still does."""
    import torch

    made = []
    real = torch.autocast

    def autocast(device_type, *args, **kwargs):
        made.append(device_type)
        return real(device_type, *args, **kwargs)

    monkeypatch.setattr(torch, "autocast", autocast)
    Autoencoder(**TINY, max_epochs=1).fit(X)
    Autoencoder(**TINY, max_epochs=1, pretraining="denoising").fit(X)  # its layers train under their own autocast
    assert made == []
    Autoencoder(**TINY, max_epochs=1, precision="bfloat16").fit(X)
    assert made and set(made) == {"cpu"}


# ------------------------------------------------------------------ paths and encodings
@pytest.fixture
def model_in_accented_dir(tmp_path, X):
    data = tmp_path / "données x.npy"
    np.save(data, X)
    model = tmp_path / "résultats dossier" / "m"
    Autoencoder(**TINY, max_epochs=1).fit(X).save(model)
    return model, data


def test_cli_prints_accented_paths_to_a_stdout_without_them(model_in_accented_dir, monkeypatch, capsys):
    """A redirected stdout on Japanese Windows is cp932, which has no 'é': the command still succeeds."""
    import io

    from aekit.cli import main

    model, data = model_in_accented_dir
    raw = io.BytesIO()
    stdout = io.TextIOWrapper(raw, encoding="cp932", errors="strict", write_through=True)
    monkeypatch.setattr(sys, "stdout", stdout)
    assert main(["evaluate", str(model), str(data), "--threads", "1"]) == 0, capsys.readouterr().err
    assert "r\\xe9sultats dossier" in raw.getvalue().decode("cp932")
    assert stdout.errors == "strict"  # given back


def test_cli_runs_in_an_ascii_locale_on_accented_paths(model_in_accented_dir, tmp_path):
    """A C locale with UTF-8 mode off and an ASCII stdout (a cron job, a minimal container)."""
    import subprocess

    model, data = model_in_accented_dir
    src = str(Path(__file__).resolve().parents[1] / "src")
    env = dict(os.environ, LC_ALL="C", LANG="C", PYTHONUTF8="0", PYTHONIOENCODING="ascii", PYTHONPATH=src,
               OMP_NUM_THREADS="1")
    out = tmp_path / "sortie é" / "codes.npy"
    for cmd in (["train", str(data), "--out", str(tmp_path / "résultats dossier" / "m2"), "--max-epochs", "1",
                 "--n-components", "2", "--hidden-layer-sizes", "6"],
                ["encode", str(model), str(data), "--out", str(out)],
                ["evaluate", str(model), str(data)],
                ["info", str(model)]):
        threads = [] if cmd[0] == "info" else ["--threads", "1"]
        proc = subprocess.run([sys.executable, "-X", "utf8=0", "-m", "aekit", *cmd, *threads], env=env,
                              capture_output=True, timeout=120)
        assert proc.returncode == 0, (cmd[0], proc.stderr.decode("ascii", "replace"))
    assert np.load(out).shape == (64, 2)
    assert aekit.load(tmp_path / "résultats dossier" / "m2").n_iter_ == 1


def test_cli_and_checkpoints_work_without_sigusr1(tmp_path, X, monkeypatch):
    """Windows has no SIGUSR1 (and no SIGTERM handler worth the name): training with checkpoints still runs."""
    import signal

    from aekit.cli import main

    monkeypatch.delattr(signal, "SIGUSR1")
    data = tmp_path / "x.npy"
    np.save(data, X)
    assert main(["train", str(data), "--out", str(tmp_path / "m"), "--checkpoint-dir", str(tmp_path / "ck"),
                 "--max-epochs", "2", "--n-components", "2", "--hidden-layer-sizes", "6", "--threads", "1",
                 "-q"]) == 0
    assert aekit.load(tmp_path / "m").n_iter_ == 2
    assert signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, None)  # handlers given back


def test_md5_of_downloads_works_on_a_fips_mode_python(tmp_path, monkeypatch):
    """A FIPS-mode Python (RHEL) refuses ``hashlib.md5()`` unless it is not used for security."""
    import hashlib

    from aekit.datasets._fetch import md5_file

    real = hashlib.md5

    def fips_md5(*args, usedforsecurity=True, **kwargs):
        if usedforsecurity:
            raise ValueError("[digital envelope routines] unsupported")
        return real(*args, usedforsecurity=False, **kwargs)

    monkeypatch.setattr(hashlib, "md5", fips_md5)
    (tmp_path / "f").write_bytes(b"abc")
    assert md5_file(tmp_path / "f") == "900150983cd24fb0d6963f7d28e17f72"
