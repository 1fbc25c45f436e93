"""A batch-cluster user's edge cases: scheduler signals (SIGTERM, SIGUSR1), requeues, torchrun ranks, full homes."""

import datetime
import json
import os
import shutil
import signal
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.distributed as dist

import aekit.compare
from aekit import Autoencoder, _fitting
from aekit.checkpoint import TrainingInterrupted, checkpointing, read_checkpoint_info
from aekit.cli import main
from aekit.training import Trainer
from _ddp import spawn_workers

from conftest import SHARED_DATA

TINY = dict(n_components=3, hidden_layer_sizes=(12,), batch_size=16, random_state=0)
ARGS = ["--n-components", "3", "--hidden-layer-sizes", "12", "--batch-size", "16", "--random-state", "0",
        "--max-epochs", "4", "--quiet", "--threads", "1"]


@pytest.fixture
def data(tmp_path, rng):
    path = tmp_path / "d.npy"
    np.save(path, rng.random((80, 10)).astype(np.float32))
    return path


@pytest.fixture
def caught():
    """Handlers that record SIGTERM/SIGUSR1 in place of their defaults (which would kill pytest)."""
    got = []
    names = [s for s in (signal.SIGTERM, signal.SIGUSR1)]
    before = {s: signal.signal(s, lambda signum, frame: got.append(signum)) for s in names}
    yield got
    for s, handler in before.items():
        signal.signal(s, handler)


def _signal_at_epoch(monkeypatch, epoch, signum):
    original = Trainer._early_stopping

    def early_stopping(self, value, keep_best):
        if self.epoch == epoch:
            os.kill(os.getpid(), signum)
        return original(self, value, keep_best)

    monkeypatch.setattr(Trainer, "_early_stopping", early_stopping)


def _hidden(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.startswith("."))


def _weights(out: Path) -> dict:
    from safetensors.torch import load_file

    return load_file(str(out / "model.safetensors"))


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGUSR1])
def test_a_scheduler_signal_stops_a_command_with_a_message_and_no_temporary_files(
        tmp_path, data, caught, monkeypatch, capsys, signum):
    # without a checkpoint their default action killed the process on the spot: no message, exit by signal,
    # hidden temporary files left beside the outputs
    _signal_at_epoch(monkeypatch, 2, signum)
    assert main(["train", str(data), "--out", str(tmp_path / "m"), *ARGS]) == 128 + signum
    assert f"aekit train: interrupted by {signal.Signals(signum).name}" in capsys.readouterr().err
    assert not (tmp_path / "m").exists() and _hidden(tmp_path) == []
    assert caught == [] and signal.getsignal(signum) is not signal.SIG_DFL  # the test's handler is back


def test_sigterm_while_the_model_is_saved_says_resume_saves_it(tmp_path, data, caught, monkeypatch, capsys):
    ck, out = tmp_path / "ck", tmp_path / "m"
    draw = aekit.compare.draw_loss_curve

    def draw_then_sigterm(*args, **kwargs):
        draw(*args, **kwargs)
        os.kill(os.getpid(), signal.SIGTERM)

    monkeypatch.setattr(aekit.compare, "draw_loss_curve", draw_then_sigterm)
    assert main(["train", str(data), "--out", str(out), "--checkpoint-dir", str(ck), "--resume", *ARGS]) == 143
    err = capsys.readouterr().err
    assert f"stopped before {out} was saved" in err and "plus --resume saves the model" in err
    assert not out.exists() and _hidden(tmp_path) == [] and read_checkpoint_info(ck)["epoch"] == 4
    monkeypatch.setattr(aekit.compare, "draw_loss_curve", draw)
    # the requeued job: the same command saves the model without training again
    assert main(["train", str(data), "--out", str(out), "--checkpoint-dir", str(ck), "--resume", *ARGS]) == 0
    assert main(["train", str(data), "--out", str(tmp_path / "ref"), *ARGS]) == 0
    a, b = _weights(out), _weights(tmp_path / "ref")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_sigusr1_checkpoints_and_resumes_like_sigterm(tmp_path, data, caught, monkeypatch, capsys):
    # Slurm's --signal=USR1@120 warns a job before its time limit; SIGUSR1's default kills the process
    ck, out = tmp_path / "ck", tmp_path / "m"
    _signal_at_epoch(monkeypatch, 2, signal.SIGUSR1)
    assert main(["train", str(data), "--out", str(out), "--checkpoint-dir", str(ck), *ARGS]) == 138
    assert "SIGUSR1 received: stopped after epoch 2" in capsys.readouterr().err
    assert read_checkpoint_info(ck)["epoch"] == 2 and not out.exists() and caught == []
    monkeypatch.undo()
    assert main(["train", str(data), "--out", str(out), "--checkpoint-dir", str(ck), "--resume", *ARGS]) == 0
    assert main(["train", str(data), "--out", str(tmp_path / "ref"), *ARGS]) == 0
    a, b = _weights(out), _weights(tmp_path / "ref")
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_a_signal_after_the_last_epoch_check_is_not_swallowed(tmp_path, rng, caught, monkeypatch):
    X = rng.random((60, 10)).astype(np.float32)
    set_fitted = _fitting.set_fitted

    def sigterm_then_set_fitted(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGTERM)  # after the last epoch's check: the checkpoint handler records it
        return set_fitted(*args, **kwargs)

    monkeypatch.setattr(_fitting, "set_fitted", sigterm_then_set_fitted)
    ae = Autoencoder(**TINY, max_epochs=2).fit(X, checkpoint_dir=tmp_path / "a")
    assert caught == [signal.SIGTERM] and ae.n_iter_ == 2  # raised again once the handlers were restored
    monkeypatch.undo()
    caught.clear()
    with checkpointing(ae, tmp_path / "b"):  # partial_fit in the block: nobody looked at the recorded signal
        _signal_at_epoch(monkeypatch, 3, signal.SIGTERM)
        ae.partial_fit(X)
        assert caught == [signal.SIGTERM]
    with pytest.raises(TrainingInterrupted):  # the usual answer in a fit is unchanged
        Autoencoder(**TINY, max_epochs=4).fit(X, checkpoint_dir=tmp_path / "c")


# ------------------------------------------------------------------ torchrun
def _node_local_worker(rank, world, init_file, out_dir):
    """Each rank checkpoints to a directory of its own, as on a disk local to each machine."""
    X = np.random.default_rng(0).random((64, 6)).astype(np.float32)
    params = dict(n_components=2, hidden_layer_sizes=(6,), max_epochs=3, batch_size=8, random_state=0, device="cpu")
    ck = os.path.join(out_dir, f"ck{rank}")
    torch.set_num_threads(1)
    if rank == 0:  # the checkpoint of the run before (rank 0 writes them): on machine 0's disk only
        Autoencoder(**params, verbose=False).fit(X, checkpoint_dir=ck)
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world,
                            timeout=datetime.timedelta(seconds=30))
    try:
        try:
            Autoencoder(**params, verbose=False).fit(X, checkpoint_dir=ck, resume=True)
            result = "trained"
        except ValueError as err:
            result = str(err)
        except RuntimeError as err:  # gloo: a peer that left (before the fix, when the ranks went apart)
            result = f"RuntimeError {err}"
        Path(out_dir, f"result{rank}.txt").write_text(result)
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()


def test_ranks_refuse_to_resume_from_checkpoints_only_some_of_them_see(tmp_path):
    # before: rank 0 resumed its checkpoint while rank 1 started from scratch, under one all-reduced
    # gradient: a silently wrong model (or ranks out of step)
    files = spawn_workers(_node_local_worker, tmp_path, "result{rank}.txt", world=2, timeout=120)
    results = [f.read_text() for f in files]
    assert all("the ranks would resume from different checkpoints" in r for r in results), results
    assert "here: epoch 3" in results[0] and "here: none" in results[1]


# --------------------------------------------------------------- environment
@pytest.mark.skipif(not (SHARED_DATA / "olivettifaces.mat").is_file(), reason="Olivetti faces not available")
def test_face_patches_are_built_when_their_cache_cannot_be_written(tmp_path, monkeypatch, caplog):
    # a full or read-only home (a cluster quota) failed `reproduce --dataset olivetti` after building the patches
    from aekit.datasets import olivetti_patches

    (tmp_path / "file").write_text("")
    monkeypatch.setenv("AEKIT_DATA", str(tmp_path / "file" / "cache"))
    X_train, X_test = olivetti_patches(SHARED_DATA / "olivettifaces.mat", n_per_face=1)
    assert X_train.shape[1] == X_test.shape[1] == 625
    assert "could not cache the patches" in caplog.text and "AEKIT_DATA" in caplog.text


# ------------------------------------------------------------------ max_time
def test_a_resumed_fit_spends_what_is_left_of_max_time_and_checkpoints_where_it_stopped(tmp_path, rng, monkeypatch):
    # a requeued --max-time job got a whole new budget on every resume, and the budget's stop was not
    # checkpointed (the checkpoint stayed at the last --checkpoint-every epoch, behind the saved model)
    X = rng.random((40, 10)).astype(np.float32)
    original = Trainer._early_stopping

    def slow(self, value, keep_best):  # 0.4 s an epoch: the budget of 1 s is crossed at epoch 3
        import time

        time.sleep(0.4)
        if self.epoch == 2 and interrupt:
            os.kill(os.getpid(), signal.SIGINT)
        return original(self, value, keep_best)

    Autoencoder(**TINY, max_epochs=1).fit(X)  # torch's first call is slow: not in the budget below
    monkeypatch.setattr(Trainer, "_early_stopping", slow)
    params = dict(TINY, max_epochs=1000, max_time=1.0, n_iter_no_change=1000, verbose=False)
    interrupt = True
    with pytest.raises(TrainingInterrupted):
        Autoencoder(**params).fit(X, checkpoint_dir=tmp_path / "a", checkpoint_every=100)
    interrupt = False
    ae = Autoencoder(**params).fit(X, checkpoint_dir=tmp_path / "a", resume=True, checkpoint_every=100)
    assert ae.n_iter_ == 3 and ae.fit_time_ >= 1.0  # not 2 + 3 epochs of a fresh budget
    assert read_checkpoint_info(tmp_path / "a")["epoch"] == 3
    again = Autoencoder(**params).fit(X, checkpoint_dir=tmp_path / "a", resume=True, checkpoint_every=100)
    assert again.n_iter_ == 3 and all(torch.equal(a, b) for a, b in zip(again.net_.state_dict().values(),
                                                                          ae.net_.state_dict().values()))


# -------------------------------------------------------------- two jobs
def test_a_model_another_job_wrote_meanwhile_is_not_replaced(tmp_path, data, monkeypatch, capsys):
    # --out was checked when training began; two jobs of an array with the same --out both said "saved" and
    # the later one silently replaced the other's model
    out, ck, theirs = tmp_path / "m", tmp_path / "ck", tmp_path / "theirs"
    assert main(["train", str(data), "--out", str(theirs), *ARGS, "--max-epochs", "1", "--random-state", "1"]) == 0
    original = Trainer._early_stopping

    def other_job_saves(self, value, keep_best):
        if self.epoch == 2:
            shutil.copytree(theirs, out)
        return original(self, value, keep_best)

    monkeypatch.setattr(Trainer, "_early_stopping", other_job_saves)
    assert main(["train", str(data), "--out", str(out), "--checkpoint-dir", str(ck), *ARGS]) == 2
    err = capsys.readouterr().err
    assert "was written by something else while this run trained" in err and "another --out and --resume" in err
    assert _weights(out).keys() == _weights(theirs).keys()
    assert all(torch.equal(_weights(out)[k], _weights(theirs)[k]) for k in _weights(out))
    monkeypatch.undo()
    assert main(["train", str(data), "--out", str(tmp_path / "mine"), "--checkpoint-dir", str(ck), "--resume",
                 *ARGS]) == 0
    assert read_checkpoint_info(ck)["epoch"] == 4 and (tmp_path / "mine" / "model.safetensors").is_file()


def test_a_checkpoint_dir_inside_out_is_refused_before_training(tmp_path, data, capsys):
    # saving the model replaces --out whole; the run trained, then failed with "written by something else"
    out = tmp_path / "m"
    assert main(["train", str(data), "--out", str(out), "--checkpoint-dir", str(out / "ckpt"), *ARGS]) == 2
    assert "is inside --out" in capsys.readouterr().err and not out.exists()


@pytest.mark.parametrize("model", ["denoising", "imputer"])
def test_train_denoiser_checkpoints_and_resumes_exactly(tmp_path, caught, monkeypatch, capsys, model):
    # a long patch-denoiser training had no checkpoint: a scheduler's SIGTERM lost all of it
    ck, out = tmp_path / "ck", tmp_path / "m"
    args = ["train-denoiser", "--dataset", "digits", "--n-patches", "300", "--max-epochs", "4", "--model", model,
            "--hidden-layer-sizes", "4", "--n-components", "4", "--random-state", "0", "--quiet", "--threads", "1"]
    _signal_at_epoch(monkeypatch, 2, signal.SIGTERM)
    assert main([*args, "--out", str(out), "--checkpoint-dir", str(ck)]) == 143
    assert "SIGTERM received: stopped after epoch 2" in capsys.readouterr().err
    assert read_checkpoint_info(ck)["epoch"] == 2 and not out.exists() and caught == []
    monkeypatch.undo()
    assert main([*args, "--out", str(out), "--checkpoint-dir", str(ck), "--resume"]) == 0
    assert main([*args, "--out", str(tmp_path / "ref")]) == 0
    a, b = _weights(out), _weights(tmp_path / "ref")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_info_on_a_checkpoint_says_how_far_the_training_got(tmp_path, data, caught, monkeypatch, capsys):
    # "how far did my job get?": info refused a checkpoint directory (no config.json)
    ck = tmp_path / "ck"
    _signal_at_epoch(monkeypatch, 2, signal.SIGTERM)
    assert main(["train", str(data), "--out", str(tmp_path / "m"), "--checkpoint-dir", str(ck), *ARGS]) == 143
    capsys.readouterr()
    assert main(["info", str(ck)]) == 0
    text = capsys.readouterr().out
    assert text.startswith("checkpoint: Autoencoder training at epoch 2 of at most 4")
    assert "data: 80 samples x 10 features" in text and "n_components = 3" in text
    assert main(["info", str(ck), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["epoch"] == 2 and info["max_epochs"] == 4 and info["checkpoint_of"] == "Autoencoder"
    assert info["last_training_loss"] > 0 and info["best_epoch"] in (1, 2)


def test_reproduce_checkpoints_and_resumes_within_its_budget(tmp_path, caught, monkeypatch, capsys):
    # a preempted `aekit reproduce` (30 minutes by default) lost all its training
    ck, out = tmp_path / "ck", tmp_path / "r"
    args = ["reproduce", "hinton2006", "--dataset", "digits", "--budget-minutes", "0.05", "--hidden-layer-sizes",
            "16", "--out", str(out), "--checkpoint-dir", str(ck), "--quiet", "--threads", "1"]
    _signal_at_epoch(monkeypatch, 2, signal.SIGTERM)
    assert main(args) == 143
    assert "Continue with the same command plus --resume" in capsys.readouterr().err
    first = read_checkpoint_info(ck)
    assert first["epoch"] == 2 and not out.exists() and caught == []
    monkeypatch.undo()
    epochs = []
    original = Trainer._early_stopping
    monkeypatch.setattr(Trainer, "_early_stopping",
                        lambda self, *a, **kw: epochs.append(self.epoch) or original(self, *a, **kw))
    assert main([*args, "--resume"]) == 0
    assert epochs[0] == 3  # went on from the checkpoint, not from scratch
    experiment = json.loads((out / "results.json").read_text())["experiment"]
    assert experiment["epochs"] == epochs[-1] and experiment["training_seconds"] >= first["seconds"]


def test_reproduce_resumed_after_sigterm_ends_as_a_run_never_stopped(tmp_path, caught, monkeypatch, capsys):
    # with the epochs and the schedule fixed (not the wall-clock annealing), a requeued reproduce gives bit for
    # bit what one uninterrupted run gives: the table, the curves and the figure
    flags = ["reproduce", "hinton2006", "--dataset", "digits", "--budget-minutes", "5", "--max-epochs", "5",
             "--lr-schedule", "cosine", "--hidden-layer-sizes", "32", "16", "--threads", "1", "--quiet"]
    ck, stopped, whole = tmp_path / "ck", tmp_path / "stopped", tmp_path / "whole"
    with monkeypatch.context() as patch:
        _signal_at_epoch(patch, 2, signal.SIGTERM)
        assert main([*flags, "--out", str(stopped), "--checkpoint-dir", str(ck)]) == 128 + signal.SIGTERM
    assert "stopped after epoch 2" in capsys.readouterr().err and not stopped.exists()
    assert main([*flags, "--out", str(stopped), "--checkpoint-dir", str(ck), "--resume"]) == 0
    assert main([*flags, "--out", str(whole)]) == 0
    resumed, uninterrupted = ({name: {k: v for k, v in row.items() if k != "fit_seconds"}  # times differ
                               for name, row in json.loads((d / "results.json").read_text())["rows"].items()}
                              for d in (stopped, whole))
    assert resumed == uninterrupted and resumed["autoencoder"]["epochs"] == 5
    resumed, uninterrupted = (json.loads((d / "results.json").read_text()) for d in (stopped, whole))
    assert resumed["loss_curve"] == uninterrupted["loss_curve"] and len(resumed["loss_curve"]) == 5
    assert (stopped / "figure.png").read_bytes() == (whole / "figure.png").read_bytes()
