"""Data-parallel training: two CPU processes over gloo match one process on the same global batches."""

import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.distributed as dist

from _ddp import spawn_workers
from aekit import Autoencoder, ContractiveAutoencoder, VariationalAutoencoder, distributed
from aekit.checkpoint import TrainingInterrupted
from aekit.corruption import make_corruption
from aekit.nets import MLPAutoencoder
from aekit.training import Trainer

TIMEOUT = 120


def _data():
    rng = np.random.default_rng(0)
    X = (rng.random((49, 3)) @ rng.random((3, 7))).astype(np.float32)  # 49: the last batch of 16 has 1 row
    mask = (rng.random(X.shape) > 0.25).astype(np.float32)
    return X, mask


def _train(X, mask, corruption, streamed=False):
    torch.manual_seed(0)
    net = MLPAutoencoder(X.shape[1], (8,), 3)
    trainer = Trainer(net, batch_size=16, max_epochs=4, seed=5, learning_rate=1e-2,
                      corruption=make_corruption("gaussian", 0.1) if corruption else None)
    if streamed:  # memory-mapped: under DDP each rank reads only its rows of every batch
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            np.save(f"{tmp}/X.npy", X)
            np.save(f"{tmp}/mask.npy", mask)
            result = trainer.fit(np.load(f"{tmp}/X.npy", mmap_mode="r"), mask=np.load(f"{tmp}/mask.npy", mmap_mode="r"))
        return {k: v.detach().clone() for k, v in net.state_dict().items()}, result.loss_curve
    result = trainer.fit(torch.from_numpy(X), mask=None if mask is None else torch.from_numpy(mask))
    return {k: v.detach().clone() for k, v in net.state_dict().items()}, result.loss_curve


def _cases():
    X, mask = _data()
    return {"plain": (X, None, False), "mask+noise": (X, mask, True),
            "mask, streamed": (X, mask, False, True)}


def _worker(rank, world, init_file, out_dir):
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world)
    torch.set_num_threads(1)
    try:
        results = {name: _train(*case) for name, case in _cases().items()}
        X, _ = _data()
        est = Autoencoder(n_components=2, hidden_layer_sizes=(6,), max_epochs=3, batch_size=8, random_state=0,
                          device="cpu").fit(X)
        results["estimator"] = ({k: v.clone() for k, v in est.net_.state_dict().items()},
                                est.loss_curve_ + est.validation_scores_)
        # no random_state: each rank drew its own validation split and refused the others' rows as different data
        # (`torchrun ... aekit train` without --random-state, as the README shows it, failed)
        unseeded = Autoencoder(n_components=2, hidden_layer_sizes=(6,), max_epochs=2, batch_size=8,
                               validation_fraction=0.2, device="cpu").fit(X)
        results["unseeded"] = ({k: v.clone() for k, v in unseeded.net_.state_dict().items()},
                               unseeded.loss_curve_ + unseeded.validation_scores_)
        # values of any shape: 2-D ones were split wrongly between the maxima and the negated minima
        checks = (distributed.same_on_all_ranks(torch.arange(6.0, dtype=torch.float64).reshape(3, 2)),
                  distributed.same_on_all_ranks(torch.full((3, 2), float(rank), dtype=torch.float64)))
        torch.save(checks, os.path.join(out_dir, f"checks{rank}.pt"))
        torch.save(results, os.path.join(out_dir, f"rank{rank}.pt"))
        del est, unseeded
        distributed.leave()  # frees the dead DDP wrappers, then barrier and teardown (else a rank may abort)
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()


def _spawn(tmp_path, world=2):
    return [torch.load(f) for f in spawn_workers(_worker, tmp_path, "rank{rank}.pt", world, timeout=TIMEOUT)]


@pytest.fixture(scope="module")
def ddp_run(tmp_path_factory):
    out_dir = tmp_path_factory.mktemp("ddp")
    return out_dir, _spawn(out_dir)


@pytest.fixture(scope="module")
def ddp_results(ddp_run):
    return ddp_run[1]


def test_same_on_all_ranks_compares_values_of_any_shape(ddp_run):
    out_dir, _ = ddp_run
    for rank in (0, 1):
        assert torch.load(out_dir / f"checks{rank}.pt") == (True, False)


def test_ranks_end_with_identical_weights(ddp_results):
    r0, r1 = ddp_results
    for name in r0:
        for key in r0[name][0]:
            assert torch.equal(r0[name][0][key], r1[name][0][key]), (name, key)
        assert r0[name][1] == r1[name][1]


@pytest.mark.parametrize("name", ["plain", "mask+noise", "mask, streamed"])
def test_ddp_matches_single_process_for_the_same_global_batch(ddp_results, name):
    single_state, single_curve = _train(*_cases()[name])
    ddp_state, ddp_curve = ddp_results[0][name]
    for key in single_state:
        torch.testing.assert_close(ddp_state[key], single_state[key], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(ddp_curve, single_curve, rtol=1e-4)


def test_estimator_under_ddp_matches_single_process(ddp_results):
    X, _ = _data()
    est = Autoencoder(n_components=2, hidden_layer_sizes=(6,), max_epochs=3, batch_size=8, random_state=0,
                      device="cpu").fit(X)
    ddp_state, ddp_curves = ddp_results[0]["estimator"]
    for key, value in est.net_.state_dict().items():
        torch.testing.assert_close(ddp_state[key], value, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(ddp_curves, est.loss_curve_ + est.validation_scores_, rtol=1e-4)


def test_helpers_without_process_group(monkeypatch):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    monkeypatch.delenv("RANK", raising=False)
    assert not distributed.is_distributed()
    assert distributed.rank() == 0 and distributed.world_size() == 1 and distributed.is_main_process()
    assert distributed.init_from_env() is False
    with distributed.session() as parallel:
        assert parallel is False
    assert distributed.broadcast_flag(True) is True
    t = torch.ones(2)
    assert distributed.all_reduce_sum(t) is t and t.tolist() == [1.0, 1.0]
    with pytest.raises(ValueError, match="distributed=True needs an initialised process group"):
        Trainer(MLPAutoencoder(4, (), 2), distributed=True)


def test_rank_from_environment_and_bad_values(monkeypatch):
    monkeypatch.setenv("RANK", "3")
    monkeypatch.setenv("LOCAL_RANK", "1")
    assert distributed.rank() == 3 and distributed.local_rank() == 1 and not distributed.is_main_process()
    monkeypatch.setenv("LOCAL_RANK", "one")
    with pytest.raises(ValueError, match="LOCAL_RANK must be an integer"):
        distributed.local_rank()
    monkeypatch.setenv("WORLD_SIZE", "2")
    with pytest.raises(ValueError, match="backend must be one of"):
        distributed.init_from_env(backend="mpi")


def test_collective_timeout_from_the_environment(monkeypatch):
    import datetime

    calls = []
    monkeypatch.setattr(dist, "is_initialized", lambda: False)
    monkeypatch.setattr(dist, "init_process_group", lambda **kw: calls.append(kw))
    monkeypatch.setattr(distributed, "is_distributed", lambda: True)
    monkeypatch.setattr(dist, "get_rank", lambda: 0)
    monkeypatch.setattr(dist, "get_world_size", lambda: 2)
    monkeypatch.setenv("WORLD_SIZE", "2")
    assert distributed.init_from_env(backend="gloo") and calls[-1] == {"backend": "gloo"}  # PyTorch's default
    monkeypatch.setenv("AEKIT_DIST_TIMEOUT", "90")
    distributed.init_from_env(backend="gloo")
    assert calls[-1] == {"backend": "gloo", "timeout": datetime.timedelta(seconds=90)}
    for bad in ("0", "-5", "inf", "ten"):
        monkeypatch.setenv("AEKIT_DIST_TIMEOUT", bad)
        with pytest.raises(ValueError, match="AEKIT_DIST_TIMEOUT must be a number of seconds > 0"):
            distributed.init_from_env(backend="gloo")


@pytest.mark.parametrize("n,world", [(5, 2), (1, 2), (16, 3), (0, 2)])
def test_shard_bounds_partition_the_batch(n, world):
    bounds = [distributed.shard_bounds(n, r, world) for r in range(world)]
    assert bounds[0][0] == 0 and bounds[-1][1] == n
    assert all(a[1] == b[0] for a, b in zip(bounds, bounds[1:]))
    sizes = [hi - lo for lo, hi in bounds]
    assert max(sizes) - min(sizes) <= 1
    assert [list(t.tolist()) for t in torch.tensor_split(torch.arange(n), world)] == [
        list(range(lo, hi)) for lo, hi in bounds]


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_cli_train_under_torchrun_writes_once(tmp_path):
    data = tmp_path / "x.npy"
    X = np.random.default_rng(0).random((120, 8)).astype(np.float32)
    X[:, 0] *= 1000  # a wide column: aekit train warns that it dominates the squared error
    np.save(data, X)
    out = tmp_path / "model"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src"), "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", "--master_addr=127.0.0.1",
           f"--master_port={_free_port()}", "-m", "aekit", "train", str(data), "--out", str(out),
           "--n-components", "2", "--hidden-layer-sizes", "6", "--max-epochs", "2",
           "--device", "cpu"]  # no --random-state, as the README's torchrun commands: rank 0's draw is shared
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=TIMEOUT)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert (out / "metrics.json").is_file()
    assert proc.stderr.count("saved ") == 1  # only rank 0 reports and writes
    assert proc.stderr.count("standard deviations range from") == 1  # and warns (each rank warned before)


def _resume_worker(rank, world, init_file, out_dir):
    """Per kind with draws of its own: weights of a whole run, and of one stopped after epoch 2 and resumed."""
    import signal

    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world)
    torch.set_num_threads(1)
    X, _ = _data()  # 49 rows, batches of 16: the last one is shared out 1 and 0
    params = dict(n_components=2, hidden_layer_sizes=(6,), max_epochs=4, batch_size=16, validation_fraction=0,
                  random_state=0, device="cpu", verbose=False)

    def stop_at_epoch_2(trainer, epoch, logs):
        if epoch == 2 and rank == 1:
            os.kill(os.getpid(), signal.SIGTERM)
        return False

    results = {}
    try:
        for cls in (VariationalAutoencoder, ContractiveAutoencoder):
            whole = cls(**params).fit(X)
            stopped = cls(**params)
            stopped._fit_callback = lambda: stop_at_epoch_2
            ckpt = os.path.join(out_dir, cls.__name__)
            try:
                stopped.fit(X, checkpoint_dir=ckpt)
            except TrainingInterrupted:
                pass
            resumed = cls(**params).fit(X, checkpoint_dir=ckpt, resume=True)
            results[cls.__name__] = [{k: v.clone() for k, v in est.net_.state_dict().items()}
                                     for est in (whole, resumed)]
            del whole, stopped, resumed
        torch.save(results, os.path.join(out_dir, f"resumed{rank}.pt"))
        distributed.leave()
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()


def test_a_resumed_run_with_draws_of_its_own_ends_as_the_uninterrupted_one(tmp_path):
    # a VAE's eps and the contractive projections were drawn from the shared noise generator for each
    # rank's share: shares of 1 and 0 rows advanced it differently, and the resume gave every rank rank 0's
    # state (the VAE of the README's torchrun resume ended 0.127 away from the uninterrupted run)
    for f in spawn_workers(_resume_worker, tmp_path, "resumed{rank}.pt", timeout=TIMEOUT):
        for name, (whole, resumed) in torch.load(f).items():
            for key in whole:
                assert torch.equal(whole[key], resumed[key]), (f.name, name, key)


def _budget_worker(rank, world, init_file, out_dir):
    """A run stopped after epoch 2, resumed with a max_time that rank 1 finds spent when it checks, rank 0 not."""
    import datetime
    import signal
    import time
    from types import SimpleNamespace

    from aekit import _fitting, checkpoint

    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world,
                            timeout=datetime.timedelta(seconds=20))
    torch.set_num_threads(1)
    X, _ = _data()
    params = dict(n_components=2, hidden_layer_sizes=(6,), max_epochs=4, batch_size=16, validation_fraction=0,
                  max_time=60.0, random_state=0, device="cpu", verbose=False)
    ckpt = os.path.join(out_dir, "ckpt")

    def stop_at_epoch_2(trainer, epoch, logs):
        if epoch == 2 and rank == 1:
            os.kill(os.getpid(), signal.SIGTERM)
        return False

    try:
        stopped = Autoencoder(**params)
        stopped._fit_callback = lambda: stop_at_epoch_2
        try:
            stopped.fit(X, checkpoint_dir=ckpt)
        except TrainingInterrupted:
            pass
        if rank == 1:  # its clock reads 1000 s later once the checkpoint is loaded: it finds the budget spent
            resume = checkpoint._Session.resume

            def late(*args):
                _fitting.time = SimpleNamespace(perf_counter=lambda: time.perf_counter() + 1000.0)
                return resume(*args)

            checkpoint._Session.resume = late
        try:
            result = str(Autoencoder(**params).fit(X, checkpoint_dir=ckpt, resume=True).n_iter_)
        except RuntimeError as err:  # gloo: a peer's collective timed out or did not match
            result = f"RuntimeError {err}".splitlines()[0]
        Path(out_dir, f"budget{rank}.txt").write_text(result)
        distributed.leave()
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()


def test_a_resumed_budget_is_judged_by_rank_0_for_every_rank(tmp_path):
    # each rank judged on its own whether the resumed run's max_time was spent: rank 1 stopped at once and
    # rank 0 trained on, waiting for gradients that never came
    files = spawn_workers(_budget_worker, tmp_path, "budget{rank}.txt", timeout=TIMEOUT)
    results = [f.read_text() for f in files]
    assert results == ["4", "4"]


def test_leave_is_a_no_op_without_a_process_group():
    assert not dist.is_initialized()
    distributed.leave()
    assert not dist.is_initialized()


def _failing_save_worker(rank, world, init_file, out_dir):
    """``aekit train`` on each rank, rank 0's save failing as on a read-only destination; code and stderr saved."""
    import contextlib
    import io
    import json

    from aekit.cli import _train, main

    os.environ.update(RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE=str(world))  # MASTER_*: from the test
    torch.set_num_threads(1)
    if rank == 0:
        def read_only(estimator, data, out, **kwargs):
            raise PermissionError(13, "Permission denied", str(out))

        _train._save_model = read_only
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = main(["train", os.path.join(out_dir, "x.npy"), "--out", os.path.join(out_dir, "model"),
                     "--n-components", "2", "--hidden-layer-sizes", "4", "--max-epochs", "1", "--device", "cpu",
                     "-q"])
    Path(out_dir, f"failed{rank}.json").write_text(json.dumps([code, err.getvalue()]))


def _two_ranks_of_aekit_train(worker, name, tmp_path, monkeypatch) -> list:
    """``worker`` run as two gloo ranks on a small ``x.npy``; each rank's (exit status, stderr) from NAME{rank}.json."""
    import json

    np.save(tmp_path / "x.npy", np.random.default_rng(0).random((60, 5)).astype(np.float32))
    monkeypatch.setenv("MASTER_ADDR", "127.0.0.1")
    monkeypatch.setenv("MASTER_PORT", str(_free_port()))
    files = spawn_workers(worker, tmp_path, name + "{rank}.json", timeout=TIMEOUT)
    return [json.loads(f.read_text()) for f in files]


def test_a_failure_of_rank_0_after_training_is_one_line_on_every_rank(tmp_path, monkeypatch):
    # rank 0 alone writes the model; when that failed, it left the process group while rank 1 waited at the
    # final barrier, and rank 1 died with gloo's "Connection closed by peer" traceback under rank 0's message
    (code0, err0), (code1, err1) = _two_ranks_of_aekit_train(_failing_save_worker, "failed", tmp_path, monkeypatch)
    assert code0 == 2 and err0.strip().endswith("aekit train: error: [Errno 13] Permission denied: "
                                                f"'{tmp_path / 'model'}'"), err0
    assert code1 == 1 and "Traceback" not in err1, err1
    assert err1.startswith("aekit train: error: rank 1 finished, but another rank left the process group before "
                           "the end (it stopped with an error of its own, reported there): "), err1
    assert not (tmp_path / "model").exists()


def _missing_file_worker(rank, world, init_file, out_dir):
    """``aekit train`` on each rank, rank 1 given a file that is not there (a machine without the data)."""
    import contextlib
    import io
    import json
    import traceback

    from aekit.cli import main

    os.environ.update(RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE=str(world))  # MASTER_*: from the test
    torch.set_num_threads(1)
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        try:
            code = main(["train", os.path.join(out_dir, "x.npy" if rank == 0 else "missing.npy"), "--out",
                         os.path.join(out_dir, "model"), "--n-components", "2", "--hidden-layer-sizes", "4",
                         "--max-epochs", "1", "--device", "cpu", "-q"])
        except Exception:  # noqa: BLE001 - what a user would see: the traceback
            code = "raised"
            traceback.print_exc()
    Path(out_dir, f"missing{rank}.json").write_text(json.dumps([code, err.getvalue()]))


def test_a_rank_that_fails_before_training_is_one_line_on_every_rank(tmp_path, monkeypatch):
    # the data missing on one machine: that rank said so and left, and rank 0, waiting in its first collective
    # (the shared seed), died with gloo's "Connection closed by peer" traceback
    (code0, err0), (code1, err1) = _two_ranks_of_aekit_train(_missing_file_worker, "missing", tmp_path, monkeypatch)
    assert code1 == 2 and err1.startswith("aekit train: error: ") and "missing.npy" in err1, err1
    assert code0 == 1 and "Traceback" not in err0, err0
    assert err0.startswith("aekit train: error: rank 0 stopped: another rank left the process group (it stopped "
                           "with an error of its own, reported there): "), err0
    assert len(err0.strip().splitlines()) == 1, err0
    assert not (tmp_path / "model").exists()


def _uneven_batches_worker(rank, world, init_file, out_dir):
    """Each rank given iterables that agree on their first batch only: one batch fewer on rank 1, one of other
    rows on rank 1, validation batches with one fewer on rank 1; the error each rank got."""
    from aekit.streaming import Batches

    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world)
    torch.set_num_threads(1)
    X, _ = _data()
    batches = [X[i:i + 16] for i in range(0, 48, 16)]
    cases = {"one batch fewer": Batches(batches[:len(batches) - rank]),
             "a later batch differs": Batches(batches[:2] + [batches[2] + rank]),
             "validation batch fewer": Batches(batches, validation=Batches(batches[:len(batches) - rank]))}
    results = {}
    try:
        for name, case in cases.items():
            try:
                Autoencoder(n_components=2, hidden_layer_sizes=(6,), max_epochs=2, batch_size=16, random_state=0,
                            device="cpu", verbose=False).fit(case)
                results[name] = "trained"
            except ValueError as err:
                results[name] = str(err)
        Path(out_dir, f"uneven{rank}.json").write_text(__import__("json").dumps(results))
        distributed.leave()
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()


def test_ranks_whose_iterables_differ_after_the_first_batch_get_a_value_error(tmp_path):
    # only the first batch was compared: an iterable one batch shorter on one rank made the ranks' collectives
    # mismatch (gloo aborted the process: "terminate called ... Is there a distributed collective mismatch"), and
    # a later batch of other rows trained each rank's share of its own rows, without a word
    import json

    for f in spawn_workers(_uneven_batches_worker, tmp_path, "uneven{rank}.json", timeout=TIMEOUT):
        results = json.loads(f.read_text())
        assert results["one batch fewer"].startswith("under torchrun every rank must iterate the same batches"), results
        assert "batch 3 of this epoch" in results["one batch fewer"], results
        assert "batch 3 of this epoch" in results["a later batch differs"], results
        # each rank evaluated its own validation batches: their losses, so their plateau schedules and best
        # weights, parted without a word
        assert results["validation batch fewer"].startswith("under torchrun every rank must be given the same "
                                                            "validation data"), results


def test_a_group_that_cannot_be_formed_is_one_line(tmp_path):
    # a rank started without torchrun's other ranks (RANK, WORLD_SIZE and MASTER_* set by hand, one machine
    # missing) waited, then died with TCPStore's DistStoreError traceback
    np.save(tmp_path / "x.npy", np.random.default_rng(0).random((20, 4)).astype(np.float32))
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src"), "OMP_NUM_THREADS": "1",
           "RANK": "0", "LOCAL_RANK": "0", "WORLD_SIZE": "2", "MASTER_ADDR": "127.0.0.1",
           "MASTER_PORT": str(_free_port()), "AEKIT_DIST_TIMEOUT": "1"}
    proc = subprocess.run([sys.executable, "-m", "aekit", "train", str(tmp_path / "x.npy"), "--out",
                           str(tmp_path / "model"), "--max-epochs", "1", "--device", "cpu"],
                          env=env, capture_output=True, text=True, timeout=TIMEOUT)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr[-3000:]
    assert proc.stderr.startswith("aekit train: error: could not join the process group of WORLD_SIZE=2 ranks "
                                  "as RANK=0 (MASTER_ADDR=127.0.0.1, MASTER_PORT="), proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
