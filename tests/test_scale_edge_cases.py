"""Training at scale and over time: checkpoints, resume, streaming, partial_fit, warm_start, torchrun."""

import os
import re
import signal

import numpy as np
import pytest
import torch
import torch.distributed as dist

from _ddp import spawn_workers
from aekit import Autoencoder, distributed
from aekit.streaming import Batches
from aekit.checkpoint import TrainingInterrupted, read_checkpoint_info

TIMEOUT = 120  # as test_distributed.py: two fresh processes importing torch on a busy 2-core machine took > 60 s


def _data():
    rng = np.random.default_rng(0)
    return (rng.random((96, 3)) @ rng.random((3, 8))).astype(np.float32)


class _SignalledOnRankOne(Autoencoder):
    """SIGTERM reaches rank 1 only after epoch 2 (one machine of several preempted by its scheduler)."""

    def _fit_callback(self):
        def send(trainer, epoch, logs):
            if epoch == 2 and distributed.rank() == 1:
                os.kill(os.getpid(), signal.SIGTERM)
            return False

        return send


def _worker(rank, world, init_file, out_dir):
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world)
    torch.set_num_threads(1)
    X = _data()
    lines = []
    try:
        # each rank its own rows (as a DistributedSampler gives): aekit shards every batch itself, so each
        # rank would train on half of its half, silently
        mine = X[rank::world]
        try:
            Autoencoder(n_components=2, hidden_layer_sizes=(6,), max_epochs=2, random_state=0).fit(
                Batches([mine[i:i + 16] for i in range(0, len(mine), 16)]))
            lines.append("trained on different batches")
        except ValueError as err:
            lines.append(str(err))
        try:  # the same with arrays: 48 and 47 rows of their own
            Autoencoder(n_components=2, hidden_layer_sizes=(6,), max_epochs=2, random_state=0).fit(X[:95][rank::world])
            lines.append("trained on different arrays")
        except ValueError as err:
            lines.append(str(err))
        est = _SignalledOnRankOne(n_components=2, hidden_layer_sizes=(6,), max_epochs=8, batch_size=16,
                                  random_state=0, device="cpu")
        try:
            est.fit(X, checkpoint_dir=os.path.join(out_dir, "ckpt"), checkpoint_every=5)
            stopped = "finished"
        except TrainingInterrupted as stop:
            stopped = f"interrupted after epoch {stop.epoch}"
        lines.append(stopped)
        with open(os.path.join(out_dir, f"rank{rank}.txt"), "w") as f:
            f.write("\n".join(lines))
        del est
        distributed.leave()
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()


def _spawn(tmp_path, world=2):
    return [f.read_text() for f in spawn_workers(_worker, tmp_path, "rank{rank}.txt", world, timeout=TIMEOUT)]


@pytest.fixture(scope="module")
def ddp_lines(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("ddp")
    return tmp, [text.splitlines() for text in _spawn(tmp)]


def test_a_signal_to_one_rank_stops_every_rank_at_the_same_epoch_with_a_checkpoint(ddp_lines):
    # rank 0 writes the checkpoints: it must learn of a signal that only another rank received,
    # else it waits for a peer that is gone and the epochs since the last checkpoint are lost
    tmp, lines = ddp_lines
    # sent by a callback after epoch 2: the checkpoint callback runs after the others (so that it sees a
    # max_time stop), so the signal is answered at the end of that same epoch
    assert [rank[-1] for rank in lines] == ["interrupted after epoch 2"] * 2
    assert read_checkpoint_info(tmp / "ckpt")["epoch"] == 2


def test_ranks_iterating_different_batches_is_an_error_on_every_rank(ddp_lines):
    for rank in ddp_lines[1]:
        assert re.fullmatch(r"under torchrun every rank must iterate the same batches.*DistributedSampler.*",
                            rank[0])


def test_ranks_given_different_arrays_is_an_error_on_every_rank(ddp_lines):
    # each rank trained on its share of its own part (half the data unseen, no error), and parts of different
    # lengths took different numbers of steps and failed inside gloo
    for rank in ddp_lines[1]:
        assert re.fullmatch(r"under torchrun every rank must be given the same training data .*not its own part\.",
                            rank[1])


# ----------------------------------------------------------------- partial_fit over time
SMALL = dict(n_components=2, hidden_layer_sizes=(6,), batch_size=16, random_state=0)


def test_partial_fit_uses_the_learning_rate_set_between_calls():
    # the only schedule partial_fit has is the one the user makes with set_params between calls
    X = _data()
    ae = Autoencoder(**SMALL).partial_fit(X)
    before = [p.detach().clone() for p in ae.net_.parameters()]
    ae.set_params(learning_rate=1e-12).partial_fit(X)
    assert max(float((p.detach() - q).abs().max()) for p, q in zip(ae.net_.parameters(), before)) < 1e-7
    assert ae._partial_state["optimizer"]["param_groups"][0]["lr"] == 1e-12
    ae.set_params(learning_rate=1e-2, weight_decay=0.5).partial_fit(X)
    assert ae._partial_state["optimizer"]["param_groups"][0]["weight_decay"] == 0.5


@pytest.mark.parametrize("first, then", [("adam", "sgd"), ("sgd", "adam"), ("adam", "adamw")])
def test_partial_fit_after_changing_the_optimizer_starts_a_fresh_one(first, then):
    # the moments of one optimiser mean nothing to another: as after fit or load, a fresh optimiser
    X = _data()
    ae = Autoencoder(**SMALL, optimizer=first).partial_fit(X)
    ae.set_params(optimizer=then).partial_fit(X)
    assert ae.n_iter_ == 2 and np.isfinite(ae.loss_curve_).all()
    moments = ae._partial_state["optimizer"]["state"][0]
    if then == "sgd":
        assert set(moments) == {"momentum_buffer"}
    else:
        assert int(moments["step"]) == len(X) // SMALL["batch_size"]  # this call's steps only
    assert ae.set_params(optimizer=first).partial_fit(X).n_iter_ == 3  # and back
