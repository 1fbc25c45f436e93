"""Checkpoints: the file format, exact resume, signals, and a training process killed mid-run."""

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from aekit import Autoencoder
from aekit.checkpoint import (CHECKPOINT_FILE, TrainingInterrupted, checkpointing, load_checkpoint,
                              read_checkpoint_info, save_checkpoint)
from aekit.cli import main
from aekit.training import Trainer

SRC = str(Path(__file__).resolve().parents[1] / "src")
TINY = dict(n_components=3, hidden_layer_sizes=(12,), batch_size=16, random_state=0)


def _same_weights(a, b) -> bool:
    sa, sb = a.net_.state_dict(), b.net_.state_dict()
    return list(sa) == list(sb) and all(torch.equal(sa[k], sb[k]) for k in sa)


@pytest.fixture
def X(rng):
    return rng.random((80, 10)).astype(np.float32)


@pytest.fixture
def interrupt_at(monkeypatch):
    """Deliver a real SIGINT to this process at the end of the given epoch (before the checkpoint callback)."""

    def arm(epoch, signum=signal.SIGINT):
        original = Trainer._early_stopping

        def early_stopping(self, value, keep_best):
            if self.epoch == epoch:
                os.kill(os.getpid(), signum)  # the handler only records it
            return original(self, value, keep_best)

        monkeypatch.setattr(Trainer, "_early_stopping", early_stopping)
        return lambda: monkeypatch.setattr(Trainer, "_early_stopping", original)

    return arm


# ------------------------------------------------------------------ format
def test_state_round_trips_without_pickle(tmp_path):
    state = {
        "int_keys": {0: {"step": torch.tensor(3.0), "m": torch.randn(2, 3)}, 7: None},
        "tuple": (0.9, 0.999),
        "specials": [math.inf, -math.inf, 1.5, True, "s"],
        "generator": torch.Generator().manual_seed(5).get_state(),
        "bf16": torch.ones(2, dtype=torch.bfloat16),
        "empty": torch.zeros(0, 4),
        "$dollar": 1,
        "array": np.arange(3),
    }
    save_checkpoint(tmp_path, state, {"epoch": 4})
    back, meta = load_checkpoint(tmp_path)
    assert meta == {"epoch": 4}
    assert set(back["int_keys"]) == {0, 7} and back["int_keys"][7] is None
    assert torch.equal(back["int_keys"][0]["m"], state["int_keys"][0]["m"])
    assert back["tuple"] == (0.9, 0.999) and isinstance(back["tuple"], tuple)
    assert back["specials"][:2] == [math.inf, -math.inf] and back["specials"][2:] == [1.5, True, "s"]
    assert back["generator"].dtype == torch.uint8 and torch.equal(back["generator"], state["generator"])
    assert back["bf16"].dtype == torch.bfloat16 and back["empty"].shape == (0, 4)
    assert back["$dollar"] == 1 and back["array"].tolist() == [0, 1, 2]
    nan = save_checkpoint(tmp_path, {"x": math.nan}, {}) and load_checkpoint(tmp_path)[0]["x"]
    assert math.isnan(nan)
    assert b"pickle" not in (tmp_path / CHECKPOINT_FILE).read_bytes()[:8]


def test_unstorable_objects_are_refused(tmp_path):
    with pytest.raises(TypeError, match="cannot store a function"):
        save_checkpoint(tmp_path, {"f": lambda: 0}, {})
    assert not (tmp_path / CHECKPOINT_FILE).exists()


def test_missing_checkpoint_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError, match="no checkpoint in"):
        load_checkpoint(tmp_path)


# ------------------------------------------------------------------ resume
@pytest.mark.parametrize("optimizer,schedule", [("adam", "constant"), ("adamw", "onecycle"), ("sgd", "plateau")])
def test_interrupted_and_resumed_fit_is_bit_identical(tmp_path, X, interrupt_at, optimizer, schedule):
    kw = dict(TINY, optimizer=optimizer, lr_schedule=schedule, max_epochs=6)
    reference = Autoencoder(**kw).fit(X)
    disarm = interrupt_at(3)
    with pytest.raises(TrainingInterrupted, match="SIGINT received: stopped after epoch 3") as stop:
        Autoencoder(**kw).fit(X, checkpoint_dir=tmp_path)
    disarm()
    assert stop.value.epoch == 3 and stop.value.signum == signal.SIGINT
    assert read_checkpoint_info(tmp_path)["epoch"] == 3
    resumed = Autoencoder(**kw).fit(X, checkpoint_dir=tmp_path, resume=True)
    assert _same_weights(reference, resumed)
    assert resumed.loss_curve_ == reference.loss_curve_
    assert resumed.validation_scores_ == reference.validation_scores_
    assert (resumed.n_iter_, resumed.best_epoch_) == (reference.n_iter_, reference.best_epoch_)


class _Noisy(Autoencoder):
    """Denoising-style training: the corruption draws from the trainer's noise generator."""

    def _make_corruption(self):
        return lambda x, generator: x + 0.1 * torch.randn(x.shape, generator=generator)


def test_resume_restores_the_noise_generator_and_masks(tmp_path, X, interrupt_at):
    mask = (np.random.default_rng(1).random(X.shape) > 0.2).astype(np.float32)
    kw = dict(TINY, max_epochs=6)
    reference = _Noisy(**kw)
    reference._fit(X, mask)
    disarm = interrupt_at(2)
    first = _Noisy(**kw)
    with pytest.raises(TrainingInterrupted), checkpointing(first, tmp_path):
        first._fit(X, mask)
    disarm()
    other = _Noisy(**kw)
    with pytest.raises(ValueError, match="other training data"), checkpointing(other, tmp_path, resume=True):
        other._fit(X, np.ones_like(mask))  # the mask is part of the data
    resumed = _Noisy(**kw)
    with checkpointing(resumed, tmp_path, resume=True):
        resumed._fit(X, mask)
    assert _same_weights(reference, resumed)


def test_resume_after_early_stopping_trains_no_further(tmp_path, X):
    kw = dict(TINY, max_epochs=60, n_iter_no_change=2, tol=0.5)  # stops early, after a few epochs
    first = Autoencoder(**kw).fit(X, checkpoint_dir=tmp_path)
    assert first.n_iter_ < 60
    assert read_checkpoint_info(tmp_path)["epoch"] == first.n_iter_  # saved at the last epoch
    again = Autoencoder(**kw).fit(X, checkpoint_dir=tmp_path, resume=True)
    assert again.n_iter_ == first.n_iter_ and _same_weights(first, again)


def test_checkpoint_every_and_time_accumulates(tmp_path, X, interrupt_at):
    kw = dict(TINY, max_epochs=7)
    disarm = interrupt_at(5)
    with pytest.raises(TrainingInterrupted):
        Autoencoder(**kw).fit(X, checkpoint_dir=tmp_path, checkpoint_every=3)
    disarm()
    info = read_checkpoint_info(tmp_path)
    assert info["epoch"] == 5 and info["class"] == "Autoencoder" and info["params"]["max_epochs"] == 7
    assert info["seconds"] > 0
    resumed = Autoencoder(**kw).fit(X, checkpoint_dir=tmp_path, resume=True)
    assert resumed.n_iter_ == 7 and resumed.fit_time_ >= info["seconds"]
    assert read_checkpoint_info(tmp_path)["epoch"] == 7


def test_resume_without_a_checkpoint_starts_fresh(tmp_path, X):
    a = Autoencoder(**TINY, max_epochs=3).fit(X, checkpoint_dir=tmp_path / "new", resume=True)
    b = Autoencoder(**TINY, max_epochs=3).fit(X)
    assert _same_weights(a, b) and (tmp_path / "new" / CHECKPOINT_FILE).is_file()


def test_a_process_training_alone_writes_its_checkpoint_whatever_its_rank(tmp_path, X, interrupt_at, monkeypatch):
    # a process that torchrun started (RANK=1) but that trains alone, in no process group (a script that runs
    # a model per rank, a command that is not distributed), wrote no checkpoint, yet said it had saved one
    monkeypatch.setenv("RANK", "1")
    monkeypatch.setenv("WORLD_SIZE", "2")
    interrupt_at(2)
    with pytest.raises(TrainingInterrupted):
        Autoencoder(**TINY, max_epochs=4).fit(X, checkpoint_dir=tmp_path)
    assert read_checkpoint_info(tmp_path)["epoch"] == 2


def test_random_state_none_resumes_on_the_saved_split(tmp_path, X, interrupt_at):
    kw = dict(TINY, max_epochs=5, random_state=None)
    disarm = interrupt_at(2)
    with pytest.raises(TrainingInterrupted):
        Autoencoder(**kw).fit(X, checkpoint_dir=tmp_path)
    disarm()
    saved_split = load_checkpoint(tmp_path)[1]["val_idx"]
    resumed = Autoencoder(**kw).fit(X, checkpoint_dir=tmp_path, resume=True)
    assert resumed.n_iter_ == 5 and len(resumed.validation_scores_) == 5
    assert torch.equal(load_checkpoint(tmp_path)[1]["val_idx"], saved_split)


def test_resume_refuses_other_parameters_data_or_model(tmp_path, X):
    Autoencoder(**TINY, max_epochs=2).fit(X, checkpoint_dir=tmp_path)
    # each refusal says how to start over: which file to delete
    start_over = r"delete .*checkpoint\.safetensors to start over\.$"
    with pytest.raises(ValueError, match=r"other parameters \(learning_rate=0.002 there, 0.01 here\).*" + start_over):
        Autoencoder(**TINY, max_epochs=2, learning_rate=0.01).fit(X, checkpoint_dir=tmp_path, resume=True)
    with pytest.raises(ValueError, match="other training data.*" + start_over):
        Autoencoder(**TINY, max_epochs=2).fit(X + 1, checkpoint_dir=tmp_path, resume=True)
    with pytest.raises(ValueError, match="written by 'Autoencoder', not '_Noisy'.*" + start_over):
        _Noisy(**TINY, max_epochs=2).fit(X, checkpoint_dir=tmp_path, resume=True)
    with pytest.raises(FileExistsError, match="already holds a checkpoint"):
        Autoencoder(**TINY, max_epochs=2).fit(X, checkpoint_dir=tmp_path)
    # verbose does not matter: a resumed run may show a progress bar or not
    Autoencoder(**TINY, max_epochs=2, verbose=True).fit(X, checkpoint_dir=tmp_path, resume=True)


def test_checkpoint_argument_errors(tmp_path, X):
    est = Autoencoder(**TINY, max_epochs=1)
    with pytest.raises(ValueError, match="checkpoint_every must be >= 1; got 0"):
        est.fit(X, checkpoint_dir=tmp_path, checkpoint_every=0)
    with pytest.raises(TypeError, match="checkpoint_every must be an int"):
        est.fit(X, checkpoint_dir=tmp_path, checkpoint_every=1.5)
    with pytest.raises(TypeError, match="resume must be True or False"):
        est.fit(X, checkpoint_dir=tmp_path, resume="yes")
    with pytest.raises(TypeError, match="checkpoint_dir must be a path"):
        est.fit(X, checkpoint_dir=3)
    (tmp_path / "file").write_text("x")
    with pytest.raises(NotADirectoryError, match="not a directory"):
        est.fit(X, checkpoint_dir=tmp_path / "file")


def test_checkpoint_dir_under_a_file_is_refused_before_training(tmp_path, X, monkeypatch):
    # found only when the first checkpoint was written, after an epoch of training
    (tmp_path / "file").write_text("x")
    monkeypatch.setattr(Trainer, "fit", lambda *a, **k: pytest.fail("trained before refusing checkpoint_dir"))
    with pytest.raises(NotADirectoryError, match="is a file, not a folder"):
        Autoencoder(**TINY, max_epochs=1).fit(X, checkpoint_dir=tmp_path / "file" / "ck")


def _sigterm_twice_after_epoch_1(monkeypatch) -> None:
    """Send this process SIGTERM twice at the end of the first epoch (a scheduler repeating itself)."""
    original = Trainer._early_stopping

    def twice(self, value, keep_best):
        os.kill(os.getpid(), signal.SIGTERM)
        os.kill(os.getpid(), signal.SIGTERM)
        return original(self, value, keep_best)

    monkeypatch.setattr(Trainer, "_early_stopping", twice)


def test_signal_handlers_are_restored_and_a_second_signal_interrupts_at_once(tmp_path, X, monkeypatch):
    before = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    Autoencoder(**TINY, max_epochs=1).fit(X, checkpoint_dir=tmp_path / "a")
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == before
    _sigterm_twice_after_epoch_1(monkeypatch)
    with pytest.raises(KeyboardInterrupt) as info:
        Autoencoder(**TINY, max_epochs=3).fit(X, checkpoint_dir=tmp_path / "b")
    assert not isinstance(info.value, TrainingInterrupted)  # the second signal did not wait for the save
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == before


# -------------------------------------------------------------- command line
ARGS = ["--n-components", "3", "--hidden-layer-sizes", "16", "--batch-size", "8", "--random-state", "0", "--quiet"]


def test_cli_resume_flags(tmp_path, rng, capsys):
    data = tmp_path / "d.npy"
    np.save(data, rng.random((60, 8)).astype(np.float32))
    ck = tmp_path / "ck"
    assert main(["train", str(data), "--out", str(tmp_path / "a"), "--resume", *ARGS]) == 2
    assert "--resume and --checkpoint-every need --checkpoint-dir" in capsys.readouterr().err
    assert main(["train", str(data), "--out", str(tmp_path / "a"), "--checkpoint-dir", str(ck),
                 "--max-epochs", "2", *ARGS]) == 0
    assert read_checkpoint_info(ck)["epoch"] == 2
    assert main(["train", str(data), "--out", str(tmp_path / "b"), "--checkpoint-dir", str(ck),
                 "--max-epochs", "2", *ARGS]) == 2
    assert "pass --resume to continue it or --overwrite to start over" in capsys.readouterr().err
    assert main(["train", str(data), "--out", str(tmp_path / "b"), "--checkpoint-dir", str(ck),
                 "--max-epochs", "3", "--overwrite", *ARGS]) == 0
    assert read_checkpoint_info(ck)["epoch"] == 3
    assert main(["train", str(data), "--out", str(tmp_path / "c"), "--checkpoint-dir", str(ck),
                 "--max-epochs", "4", "--resume", *ARGS]) == 2
    assert "other parameters (--max-epochs 3 there, 4 here)" in capsys.readouterr().err  # named as the flag


@pytest.mark.parametrize("where", ["file", "file/ck"])
def test_cli_checkpoint_dir_under_a_file_is_refused_before_training(tmp_path, rng, capsys, monkeypatch, where):
    # it was found when the first checkpoint was written, after an epoch (on a cluster: hours) of training,
    # and a --checkpoint-dir that is a file was named as Python's checkpoint_dir
    data = tmp_path / "d.npy"
    np.save(data, rng.random((60, 8)).astype(np.float32))
    (tmp_path / "file").write_text("x")
    monkeypatch.setattr(Trainer, "fit", lambda *a, **k: pytest.fail("trained before refusing --checkpoint-dir"))
    assert main(["train", str(data), "--out", str(tmp_path / "m"), "--checkpoint-dir", str(tmp_path / where),
                 *ARGS]) == 2
    assert "is a file, not a folder" in capsys.readouterr().err
    assert not (tmp_path / "m").exists()


def test_cli_info_on_a_file_of_a_checkpoint_or_model_names_its_directory(tmp_path, rng, capsys):
    # "aekit info ck/checkpoint.safetensors" said only "is not an aekit model directory (a file, not a directory)"
    data = tmp_path / "d.npy"
    np.save(data, rng.random((60, 8)).astype(np.float32))
    ck, out = tmp_path / "ck", tmp_path / "m"
    assert main(["train", str(data), "--out", str(out), "--checkpoint-dir", str(ck), "--max-epochs", "1", *ARGS]) == 0
    for directory, name in ((ck, CHECKPOINT_FILE), (out, "model.safetensors"), (out, "config.json")):
        capsys.readouterr()
        assert main(["info", str(directory / name)]) == 2
        err = capsys.readouterr().err
        assert f"pass its directory: aekit info {directory}" in err and len(err.splitlines()) == 1


@pytest.mark.parametrize("mistake", [["missing.npy"], ["DATA", "--loss", "bce", "--scaling", "standard"]])
def test_cli_overwrite_keeps_the_old_checkpoint_when_the_command_fails_before_training(tmp_path, rng, capsys,
                                                                                      mistake):
    # --overwrite (start over) deleted the checkpoint first: a typo in the data or the flags then lost it
    data = tmp_path / "d.npy"
    np.save(data, rng.random((60, 8)).astype(np.float32))
    ck = tmp_path / "ck"
    assert main(["train", str(data), "--out", str(tmp_path / "a"), "--checkpoint-dir", str(ck), "--max-epochs", "2",
                 *ARGS]) == 0
    before = (ck / CHECKPOINT_FILE).read_bytes()
    mistake = [str(data) if m == "DATA" else str(tmp_path / m) if m.endswith(".npy") else m for m in mistake]
    assert main(["train", *mistake, "--out", str(tmp_path / "b"), "--checkpoint-dir", str(ck), "--overwrite",
                 *ARGS]) == 2
    assert (ck / CHECKPOINT_FILE).read_bytes() == before
    assert main(["train", str(data), "--out", str(tmp_path / "b"), "--checkpoint-dir", str(ck), "--max-epochs", "3",
                 "--overwrite", *ARGS]) == 0  # started over
    assert read_checkpoint_info(ck)["epoch"] == 3


def _train_cmd(data, out, ck=None, *extra):
    cmd = [sys.executable, "-m", "aekit", "train", str(data), "--out", str(out), "--max-epochs", "60", *ARGS]
    return cmd + (["--checkpoint-dir", str(ck)] if ck else []) + list(extra)


def _env():
    # one thread: identical float reductions in every process; src first: this checkout's aekit
    return {**os.environ, "PYTHONPATH": SRC, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def _wait_for_checkpoint(proc, ck, timeout=60.0):
    deadline = time.monotonic() + timeout
    while not (ck / CHECKPOINT_FILE).exists():
        assert proc.poll() is None, proc.communicate()[1]
        assert time.monotonic() < deadline, "no checkpoint appeared"
        time.sleep(0.02)


@pytest.fixture
def big_data(tmp_path, rng):
    data = tmp_path / "d.npy"
    np.save(data, rng.random((200, 16)).astype(np.float32))
    return data


def _wait_for_epoch_after(proc, ck, epoch, timeout=60.0):
    deadline = time.monotonic() + timeout
    while read_checkpoint_info(ck)["epoch"] <= epoch:
        assert proc.poll() is None, proc.communicate()[1]
        assert time.monotonic() < deadline, "the resumed run saved no checkpoint"
        time.sleep(0.02)


@pytest.fixture
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as the subprocesses (OMP_NUM_THREADS=1): the same float reductions
    yield
    torch.set_num_threads(threads)


def test_sigkill_then_sigint_then_resume_matches_an_uninterrupted_run(tmp_path, big_data, one_thread):
    """Killed at a random moment, resumed, interrupted with Ctrl-C, resumed again: the same model."""
    from aekit import load

    ck = tmp_path / "ck"
    proc = subprocess.Popen(_train_cmd(big_data, tmp_path / "m", ck), env=_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _wait_for_checkpoint(proc, ck)
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    assert proc.returncode == -signal.SIGKILL, "training finished before it could be killed"
    assert not (tmp_path / "m").exists()
    state, meta = load_checkpoint(ck)  # whatever moment the kill hit, the checkpoint on disk is whole
    killed_at = meta["epoch"]
    assert 1 <= killed_at < 60 and state["epoch"] == killed_at

    proc = subprocess.Popen(_train_cmd(big_data, tmp_path / "m", ck, "--resume"), env=_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _wait_for_epoch_after(proc, ck, killed_at)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    stopped_at = read_checkpoint_info(ck)["epoch"]
    assert stopped_at > killed_at
    assert f"aekit train: SIGINT received: stopped after epoch {stopped_at}; checkpoint saved to" in err
    assert "Continue with the same command plus --resume." in err and "Traceback" not in err
    assert not (tmp_path / "m").exists()

    resumed = subprocess.run(_train_cmd(big_data, tmp_path / "m", ck, "--resume"), env=_env(),
                             capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    assert main(_train_cmd(big_data, tmp_path / "ref")[3:]) == 0  # uninterrupted, in this process
    assert _same_weights(load(tmp_path / "ref"), load(tmp_path / "m"))
    epochs = [json.loads((tmp_path / m / "metrics.json").read_text())["epochs"] for m in ("ref", "m")]
    assert epochs[0] == epochs[1] > stopped_at


def test_sigterm_saves_a_checkpoint_and_exits_143(tmp_path, big_data, interrupt_at, capsys):
    interrupt_at(2, signal.SIGTERM)
    ck = tmp_path / "ck"
    assert main(_train_cmd(big_data, tmp_path / "m", ck)[3:]) == 143
    err = capsys.readouterr().err
    assert read_checkpoint_info(ck)["epoch"] == 2
    assert "aekit train: SIGTERM received: stopped after epoch 2; checkpoint saved to" in err
    assert not (tmp_path / "m").exists()


def test_cli_a_second_sigterm_stops_at_once_with_status_143(tmp_path, big_data, monkeypatch, capsys):
    # the second signal raised a bare KeyboardInterrupt: a scheduler's SIGTERM sent twice ended the run with
    # Ctrl-C's status 130 and "interrupted", not 143 as one SIGTERM (and every other command) does
    _sigterm_twice_after_epoch_1(monkeypatch)
    assert main(_train_cmd(big_data, tmp_path / "m", tmp_path / "ck")[3:]) == 143
    assert "aekit train: interrupted by SIGTERM" in capsys.readouterr().err
    assert not (tmp_path / "m").exists()


def test_contractive_resume_draws_the_same_projections(tmp_path, X, interrupt_at):
    from aekit import ContractiveAutoencoder

    kw = dict(TINY, max_epochs=5, contraction_weight=0.05)
    reference = ContractiveAutoencoder(**kw).fit(X)
    disarm = interrupt_at(2)
    with pytest.raises(TrainingInterrupted):
        ContractiveAutoencoder(**kw).fit(X, checkpoint_dir=tmp_path)
    disarm()
    resumed = ContractiveAutoencoder(**kw).fit(X, checkpoint_dir=tmp_path, resume=True)
    assert _same_weights(reference, resumed)
    assert resumed.loss_curve_ == reference.loss_curve_


# ------------------------------------------------------------ across device kinds
_PHILOX_STATE = torch.tensor([0] * 8 + [4, 0, 0, 0, 0, 0, 0, 0], dtype=torch.uint8)  # a CUDA generator's 16 bytes


def test_a_cuda_checkpoint_resumes_on_cpu_with_a_warning(tmp_path, X, interrupt_at, caplog):
    # a checkpoint written by a device="cuda" run: its noise generator's state is a CUDA (Philox) one, which a
    # CPU generator cannot take; resuming on CPU failed ('does not fit this training run' / other parameters)
    disarm = interrupt_at(2)
    with pytest.raises(TrainingInterrupted), checkpointing(_Noisy(**TINY, max_epochs=5), tmp_path) as first:
        first.fit(X)
    disarm()
    state, meta = load_checkpoint(tmp_path)
    state["noise_generator"] = _PHILOX_STATE
    meta["params"]["device"], meta["device"] = "cuda", "cuda"
    save_checkpoint(tmp_path, state, meta)
    with caplog.at_level("WARNING", logger="aekit"):
        resumed = _Noisy(**TINY, max_epochs=5, device="cpu").fit(X, checkpoint_dir=tmp_path, resume=True)
    assert resumed.n_iter_ == 5 and len(resumed.loss_curve_) == 5
    assert resumed.loss_curve_[:2] == [float(v) for v in state["result"]["loss_curve"]]
    warned = " ".join(r.getMessage() for r in caplog.records if r.levelname == "WARNING")
    assert "noise generator" in warned and "cuda" in warned and "not bit for bit" in warned
    # other parameters are still refused
    with pytest.raises(ValueError, match="other parameters"):
        _Noisy(**TINY, max_epochs=5, device="cpu", learning_rate=0.5).fit(X, checkpoint_dir=tmp_path, resume=True)


def test_trainer_takes_a_generator_state_of_another_device_kind(X, caplog):
    # the other way round (a CPU checkpoint resumed on CUDA), at the trainer: the generator kinds differ
    import torch.nn as nn

    def trainer():
        return Trainer(nn.Sequential(nn.Linear(10, 10)), max_epochs=1, batch_size=16, seed=0)

    saved = trainer().state_dict()

    class _CudaLikeGenerator:  # what torch.Generator("cuda") does with a CPU state: refuse its size
        def get_state(self):
            return _PHILOX_STATE.clone()

        def set_state(self, state):
            if state.numel() != 16:
                raise RuntimeError("RNG state is wrong size")

    target = trainer()
    target.noise_generator = _CudaLikeGenerator()
    with caplog.at_level("WARNING", logger="aekit"):
        target.load_state_dict(saved, steps_per_epoch=5)
    assert "noise generator" in caplog.text
    assert torch.equal(target.shuffle_generator.get_state(), saved["shuffle_generator"])  # CPU on both
