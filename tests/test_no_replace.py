"""Two runs given the same output without --overwrite: the second refuses at its last step, atomically.

``check_output`` refuses an existing output at the start of a command, but two jobs started together (a Slurm
array with a typo, two notebooks) both pass it; the second's final rename then replaced the first's finished
model or codes. Here the other run's output appears between the checks and that rename, deterministically: it
must come through byte for byte, the second run must exit 2 with one line, and nothing of it may be left behind.
"""

import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from aekit import _atomic
from aekit._atomic import atomic_directory, atomic_path
from aekit.cli import main

APPEARED = r"appeared while this command ran \(another run with the same --out\?\); nothing was replaced"
FAST = ["--dataset", "digits", "--hidden-layer-sizes", "16", "--n-components", "4", "--max-epochs", "1",
        "--random-state", "0", "--threads", "1", "--quiet"]


def _tree(path: Path) -> dict:
    """Every file under ``path`` (or ``path`` itself) and its bytes."""
    if path.is_file():
        return {".": path.read_bytes()}
    return {str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}


def _hidden(directory: Path) -> list:
    """Temporary files and directories left beside the outputs (``.NAME.XXXX.tmp``)."""
    return sorted(p.name for p in directory.iterdir() if p.name.startswith("."))


def _without_renameat2(monkeypatch):
    monkeypatch.setattr(_atomic, "_renameat2", lambda a, b, flags: False)  # another OS, or a filesystem without it


def _spy_renameat2(monkeypatch) -> list:
    """Record the flags of each renameat2 call and whether the kernel did it; skip where it is unsupported."""
    calls, real = [], _atomic._renameat2

    def spy(a, b, flags):
        try:
            done = real(a, b, flags)
        except OSError as err:
            calls.append((flags, type(err).__name__))
            raise
        if not done:
            pytest.skip("renameat2 is unsupported on this system or filesystem")
        calls.append((flags, "done"))
        return done

    monkeypatch.setattr(_atomic, "_renameat2", spy)
    return calls


# ------------------------------------------------------------------ the writers


@pytest.mark.parametrize("renameat2", [True, False], ids=["renameat2", "no-renameat2"])
@pytest.mark.parametrize("other", ["directory", "empty-directory", "file"])
def test_directory_that_appears_meanwhile_is_kept(tmp_path, monkeypatch, renameat2, other):
    target = tmp_path / "model"
    calls = _spy_renameat2(monkeypatch) if renameat2 else _without_renameat2(monkeypatch)
    with pytest.raises(FileExistsError, match=APPEARED) as err:
        with atomic_directory(target, replace=False) as tmp:
            (tmp / "config.json").write_text("ours")
            if other == "file":  # the other run's output appears while this one works
                target.write_text("theirs")
            else:
                target.mkdir()
                if other == "directory":
                    (target / "config.json").write_text("theirs")
    assert str(target) in str(err.value) and "\n" not in str(err.value)
    expected = {".": b"theirs"} if other == "file" else {} if other == "empty-directory" else {
        "config.json": b"theirs"}
    assert _tree(target) == expected
    assert _hidden(tmp_path) == []
    if renameat2:
        assert calls == [(1, "FileExistsError")]  # RENAME_NOREPLACE refused it, in the one atomic step


@pytest.mark.parametrize("way", ["link", "renameat2", "check-then-rename"])
def test_file_that_appears_meanwhile_is_kept(tmp_path, monkeypatch, way):
    target = tmp_path / "codes.npy"
    if way != "link":
        monkeypatch.delattr(os, "link")  # a platform without hard links
    calls = _spy_renameat2(monkeypatch) if way == "renameat2" else _without_renameat2(monkeypatch)
    with pytest.raises(FileExistsError, match=APPEARED):
        with atomic_path(target, suffix=".npy", replace=False) as tmp:
            tmp.write_bytes(b"ours")
            target.write_bytes(b"theirs")
    assert target.read_bytes() == b"theirs"
    assert _hidden(tmp_path) == []
    if way == "renameat2":
        assert calls == [(1, "FileExistsError")]


def test_check_then_rename_still_refuses_a_full_directory_appearing_after_the_check(tmp_path, monkeypatch):
    """The fallback's window: rename itself refuses a non-empty directory (only an empty one would be replaced)."""
    _without_renameat2(monkeypatch)
    target, real_rename = tmp_path / "model", os.rename

    def rename(src, dst):
        if Path(dst) == target:  # the other run finishes between the check and the rename
            target.mkdir()
            (target / "config.json").write_text("theirs")
        return real_rename(src, dst)

    monkeypatch.setattr(os, "rename", rename)
    with pytest.raises(FileExistsError, match=APPEARED):
        with atomic_directory(target, replace=False) as tmp:
            (tmp / "config.json").write_text("ours")
    assert _tree(target) == {"config.json": b"theirs"}
    assert _hidden(tmp_path) == []


@pytest.mark.parametrize("renameat2", [True, False], ids=["renameat2", "no-renameat2"])
def test_no_replace_writes_a_new_path(tmp_path, monkeypatch, renameat2):
    if not renameat2:
        _without_renameat2(monkeypatch)
        monkeypatch.delattr(os, "link")
    with atomic_directory(tmp_path / "d", replace=False) as tmp:
        (tmp / "f").write_text("ours")
    with atomic_path(tmp_path / "f.txt", replace=False) as tmp:
        tmp.write_text("ours")
    assert _tree(tmp_path / "d") == {"f": b"ours"} and (tmp_path / "f.txt").read_text() == "ours"
    assert _hidden(tmp_path) == []


def test_replace_by_default_still_replaces_what_appeared(tmp_path):
    """The Python API's default (and --overwrite): the new output wins."""
    with atomic_directory(tmp_path / "d") as tmp:
        (tmp / "f").write_text("ours")
        (tmp_path / "d").mkdir()
        (tmp_path / "d" / "g").write_text("theirs")
    with atomic_path(tmp_path / "f.txt") as tmp:
        tmp.write_text("ours")
        (tmp_path / "f.txt").write_text("theirs")
    assert _tree(tmp_path / "d") == {"f": b"ours"} and (tmp_path / "f.txt").read_text() == "ours"
    assert _hidden(tmp_path) == []


# ------------------------------------------------------------------ the commands


@pytest.fixture(scope="module")
def first_model(tmp_path_factory):
    """The model the first job saved."""
    model = tmp_path_factory.mktemp("first") / "model"
    assert main(["train", "--out", str(model), *FAST]) == 0
    return model


def _other_run_saves_during_settle(monkeypatch, out: Path, source: Path):
    """Copy ``source`` to ``out`` once this run's new directory is complete, just before it is moved there."""
    real = _atomic._settle_tree

    def settle(directory):
        real(directory)
        if directory.name.startswith(f".{out.name}."):
            shutil.copytree(source, out)

    monkeypatch.setattr(_atomic, "_settle_tree", settle)


@pytest.mark.parametrize("overwrite", [False, True], ids=["no-overwrite", "overwrite"])
def test_train_does_not_replace_a_model_saved_meanwhile(tmp_path, monkeypatch, capsys, first_model, overwrite):
    theirs = tmp_path / "theirs"
    shutil.copytree(first_model, theirs)
    (theirs / "trained-by").write_text("the other job")  # tells their model from ours
    expected = _tree(theirs)
    out = tmp_path / "model"
    _other_run_saves_during_settle(monkeypatch, out, theirs)
    capsys.readouterr()
    code = main(["train", "--out", str(out), *FAST, *(["--overwrite"] if overwrite else [])])
    err = capsys.readouterr().err
    if overwrite:
        assert code == 0 and not (out / "trained-by").exists()
        assert sorted(_tree(out)) == sorted(_tree(first_model))  # ours: the same seed, so the same weights
        assert (out / "model.safetensors").read_bytes() == (first_model / "model.safetensors").read_bytes()
    else:
        assert code == 2
        assert err.count("\n") == 1 and err.startswith(f"aekit train: error: {out} appeared while this command ran")
        assert "use another --out, or --overwrite." in err
        assert _tree(out) == expected
    assert _hidden(tmp_path) == []


@pytest.mark.parametrize("overwrite", [False, True], ids=["no-overwrite", "overwrite"])
def test_encode_does_not_replace_codes_written_meanwhile(tmp_path, monkeypatch, capsys, first_model, overwrite):
    out = tmp_path / "codes.npy"
    theirs = np.full((360, 4), 7.0, dtype=np.float32)
    real_save = np.save

    def save(file, arr, *args, **kwargs):  # writes our codes to the temporary file, then the other job finishes
        real_save(file, arr, *args, **kwargs)
        if Path(file).name.startswith(f".{out.name}."):
            real_save(out, theirs)

    monkeypatch.setattr(np, "save", save)
    expected = None
    capsys.readouterr()
    code = main(["encode", str(first_model), "--dataset", "digits", "--out", str(out), "--threads", "1", "--quiet",
                 *(["--overwrite"] if overwrite else [])])
    err = capsys.readouterr().err
    monkeypatch.undo()
    if overwrite:
        assert code == 0 and not np.array_equal(np.load(out), theirs)
    else:
        real_save(tmp_path / "expected.npy", theirs)
        expected = (tmp_path / "expected.npy").read_bytes()
        assert code == 2 and err == (f"aekit encode: error: {out} appeared while this command ran (another run with "
                                     "the same --out?); nothing was replaced: use another --out, or --overwrite.\n")
        assert out.read_bytes() == expected
    assert _hidden(tmp_path) == []


def test_persistence_save_replace_false(tmp_path, first_model):
    """The Python API: save(..., replace=False) refuses; the default replaces, as before."""
    from aekit import load
    from aekit.persistence import save

    est = load(first_model)
    out = tmp_path / "m"
    shutil.copytree(first_model, out)
    (out / "trained-by").write_text("the other job")
    with pytest.raises(FileExistsError, match=APPEARED):
        save(est, out, replace=False)
    assert (out / "trained-by").exists()
    save(est, out)
    assert not (out / "trained-by").exists()
    assert _hidden(tmp_path) == []


@pytest.mark.parametrize("command", [["train"], ["train-denoiser", "--n-patches", "200", "--patch-size", "8"]])
@pytest.mark.parametrize("what", ["folder", "file"])
def test_overwrite_of_a_folder_or_file_that_is_no_model_is_refused_before_training(tmp_path, monkeypatch, capsys,
                                                                                  command, what):
    # --overwrite replaces only a model folder; other output was refused when the model was saved, after the
    # whole training (hours on a cluster, lost without a checkpoint)
    from aekit.training import Trainer

    out = tmp_path / "out"
    if what == "folder":
        out.mkdir()
        (out / "notes.txt").write_text("mine")
    else:
        out.write_text("mine")
    monkeypatch.setattr(Trainer, "fit", lambda *a, **k: pytest.fail("trained before refusing --out"))
    assert main([*command, *FAST, "--out", str(out), "--overwrite"]) == 2
    assert "choose a new path" in capsys.readouterr().err
    assert (out / "notes.txt" if what == "folder" else out).read_text() == "mine"
