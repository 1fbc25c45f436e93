"""Atomic writes: a crash between writing and renaming leaves the old file whole and no litter."""

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from aekit import Autoencoder, _atomic, load
from aekit._atomic import atomic_directory, atomic_path, save_npy, save_npy_blocks, write_json, write_text
from aekit.checkpoint import CHECKPOINT_FILE, load_checkpoint, save_checkpoint
from aekit.persistence import save
from aekit.plotting import loss_curve

SRC = str(Path(__file__).resolve().parents[1] / "src")


def _crash(*args, **kwargs):
    raise OSError("simulated crash before the rename")


@pytest.fixture
def crashing_rename(monkeypatch):
    """Make every rename fail, as if the process died right before it."""
    monkeypatch.setattr(os, "replace", _crash)
    monkeypatch.setattr(_atomic, "_exchange", _crash)


@pytest.fixture
def fitted(rng):
    return Autoencoder(n_components=2, hidden_layer_sizes=(4,), max_epochs=1, random_state=0).fit(
        rng.random((20, 5)))


def _listing(directory: Path) -> dict:
    return {p.relative_to(directory).as_posix(): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


WRITERS = {
    "write_text": lambda path: write_text(path, "new"),
    "write_json": lambda path: write_json(path, {"new": 1}),
    "save_npy": lambda path: save_npy(path, np.arange(3)),
    "save_npy_blocks": lambda path: save_npy_blocks(path, iter([np.zeros((2, 3)), np.ones((1, 3))]), 3),
    "checkpoint": lambda path: save_checkpoint(path.parent, {"x": np.arange(3)}, {}),
    "figure": lambda path: loss_curve([1.0, 0.5], path=path),
}


@pytest.mark.parametrize("writer", sorted(WRITERS))
def test_file_writers_keep_the_old_file_on_a_crash(tmp_path, crashing_rename, writer):
    name = {"checkpoint": CHECKPOINT_FILE, "figure": "loss.png"}.get(writer, f"out.{writer}")
    target = tmp_path / name
    target.write_bytes(b"old")
    with pytest.raises(OSError, match="simulated crash"):
        WRITERS[writer](target)
    assert _listing(tmp_path) == {target.name: b"old"}


def test_model_directory_survives_a_crash_during_the_swap(tmp_path, fitted, monkeypatch, rng):
    model = tmp_path / "model"
    save(fitted, model)
    before = _listing(tmp_path)
    other = Autoencoder(n_components=2, hidden_layer_sizes=(4,), max_epochs=1, random_state=1).fit(rng.random((20, 5)))
    monkeypatch.setattr(_atomic, "_exchange", _crash)  # the one-step swap fails...
    with pytest.raises(OSError, match="simulated crash"):
        save(other, model)
    assert _listing(tmp_path) == before
    calls = []

    def second_rename_fails(src, dst):  # ...or, without it, the second of the two renames fails
        calls.append((src, dst))
        if len(calls) == 2:
            raise OSError("simulated crash before the rename")
        return os.rename(src, dst)

    monkeypatch.setattr(_atomic, "_exchange", lambda a, b: False)
    monkeypatch.setattr(os, "replace", second_rename_fails)
    with pytest.raises(OSError, match="simulated crash"):
        save(other, model)
    assert _listing(tmp_path) == before  # the old directory was put back
    monkeypatch.undo()
    save(other, model)
    assert load(model).n_features_in_ == 5 and _listing(tmp_path) != before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]


def test_an_error_inside_the_block_leaves_nothing(tmp_path):
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "a").write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_directory(tmp_path / "d") as tmp:
            (tmp / "a").write_text("half")
            raise RuntimeError
    with pytest.raises(RuntimeError):
        with atomic_path(tmp_path / "f") as tmp:
            tmp.write_text("half")
            raise RuntimeError
    assert _listing(tmp_path) == {"d/a": b"old"}


def test_files_get_the_umask_permissions(tmp_path, fitted):
    old = os.umask(0o022)
    try:
        save(fitted, tmp_path / "model")
        save_checkpoint(tmp_path / "ck", {"x": np.arange(2)}, {})
        write_text(tmp_path / "t.txt", "x")
    finally:
        os.umask(old)
    assert (tmp_path / "model").stat().st_mode & 0o777 == 0o755
    for f in ("model/model.safetensors", "model/config.json", f"ck/{CHECKPOINT_FILE}", "t.txt"):
        assert (tmp_path / f).stat().st_mode & 0o777 == 0o644, f


KILLER = """
import os, signal, sys
import numpy as np
from aekit import _atomic
from aekit._atomic import save_npy, write_json
from aekit.checkpoint import save_checkpoint
def die(*a, **k):
    os.kill(os.getpid(), signal.SIGKILL)
os.replace = die
_atomic._exchange = die
what, path = sys.argv[1], sys.argv[2]
if what == "json":
    write_json(path, {"new": True})
elif what == "npy":
    save_npy(path, np.arange(5))
else:
    save_checkpoint(path, {"epoch": 2, "w": np.ones(1000)}, {"epoch": 2})
"""


@pytest.mark.parametrize("what", ["json", "npy", "checkpoint"])
def test_sigkill_between_write_and_rename(tmp_path, what):
    """A real kill at the worst moment: the old file is intact; only a hidden temporary file may remain."""
    if what == "json":
        target = tmp_path / "m.json"
        write_json(target, {"new": False})
    elif what == "npy":
        target = tmp_path / "a.npy"
        save_npy(target, np.zeros(2))
    else:
        save_checkpoint(tmp_path, {"epoch": 1, "w": np.zeros(1000)}, {"epoch": 1})
        target = tmp_path / CHECKPOINT_FILE
    old = target.read_bytes()
    proc = subprocess.run([sys.executable, "-c", KILLER, what, str(tmp_path if what == "checkpoint" else target)],
                          env={**os.environ, "PYTHONPATH": SRC}, capture_output=True, text=True)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert target.read_bytes() == old
    others = [p.name for p in tmp_path.iterdir() if p != target]
    assert all(name.startswith(f".{target.name}.") and ".tmp" in name for name in others)
    if what == "checkpoint":
        assert load_checkpoint(tmp_path)[1] == {"epoch": 1}
    elif what == "json":
        assert json.loads(target.read_text()) == {"new": False}


def test_an_output_under_a_file_names_the_file(tmp_path, fitted, capsys):
    # mkdir said "[Errno 17] File exists: '.../file'", naming neither the output nor why
    from aekit.cli import main

    (tmp_path / "file").write_text("not a folder")
    with pytest.raises(NotADirectoryError, match=r"cannot write .*file/sub/model: .*file is a file, not a folder"):
        fitted.save(tmp_path / "file" / "sub" / "model")
    with pytest.raises(NotADirectoryError, match="is a file, not a folder"):
        write_text(tmp_path / "file" / "a.txt", "x")
    np.save(tmp_path / "x.npy", np.random.default_rng(0).random((30, 4)).astype(np.float32))
    assert main(["train", str(tmp_path / "x.npy"), "--out", str(tmp_path / "file" / "m"), "--max-epochs", "1",
                 "-q"]) == 2
    err = capsys.readouterr().err  # refused before training, not when saving after it
    assert err.strip() == f"aekit train: error: cannot write {tmp_path / 'file' / 'm'}: {tmp_path / 'file'} is a " \
                          "file, not a folder."


def test_save_npy_blocks_writes_the_whole_array_and_leaves_nothing_when_a_block_fails(tmp_path):
    X = np.random.default_rng(0).random((50, 3)).astype(np.float32)
    target = tmp_path / "x.npy"
    save_npy_blocks(target, (X[i:i + 7] for i in range(0, 50, 7)), 50)
    np.testing.assert_array_equal(np.load(target), X)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.npy"]

    def failing():
        yield X[:7]
        raise KeyboardInterrupt  # Ctrl-C between two blocks

    with pytest.raises(KeyboardInterrupt):
        save_npy_blocks(tmp_path / "y.npy", failing(), 50)
    with pytest.raises(ValueError, match="7 rows were written of the 50 expected"):
        save_npy_blocks(tmp_path / "y.npy", iter([X[:7]]), 50)
    with pytest.raises(ValueError, match=r"block of float64 \(7, 3\) at row 7 does not fit the float32 array"):
        save_npy_blocks(tmp_path / "y.npy", iter([X[:7], X[7:14].astype(np.float64)]), 50)
    with pytest.raises(FileExistsError):
        save_npy_blocks(target, iter([X]), 50, replace=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.npy"]  # no output, no hidden temporary file
    np.testing.assert_array_equal(np.load(target), X)
