"""The shared training engine: hooks, masks, state round trip, devices."""

import numpy as np
import pytest
import torch

from aekit.nets import MLPAutoencoder, TopK
from aekit.training import Trainer, TrainingDivergedError, resolve_device


def _data(n=64, d=6, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 3, generator=g) @ torch.randn(3, d, generator=g)


def _net(d=6, seed=0):
    torch.manual_seed(seed)
    return MLPAutoencoder(d, (8,), 3)


def test_penalty_and_corruption_are_applied():
    seen = {"penalty": 0, "corruption": 0}

    def penalty(code):
        seen["penalty"] += 1
        assert code.shape[1] == 3
        return code.abs().mean()

    def corruption(x, generator):
        seen["corruption"] += 1
        return x + torch.randn(x.shape, generator=generator)

    trainer = Trainer(_net(), penalty=penalty, corruption=corruption, batch_size=16, max_epochs=2)
    trainer.fit(_data())
    assert seen["corruption"] == 8 and seen["penalty"] == 8  # 4 batches x 2 epochs


def test_mask_restricts_loss_to_observed_entries():
    X = _data()
    mask = torch.ones_like(X)
    mask[:, 0] = 0
    garbage = X.clone()
    garbage[:, 0] = 1e6  # never seen: zeroed at the input, not counted in the loss
    a = Trainer(_net(), batch_size=16, max_epochs=3, seed=1)
    b = Trainer(_net(), batch_size=16, max_epochs=3, seed=1)
    ra = a.fit(X, mask=mask)
    rb = b.fit(garbage, mask=mask)
    assert ra.loss_curve == rb.loss_curve


def test_state_dict_round_trip_continues_identically():
    X = _data()
    full = Trainer(_net(), batch_size=16, max_epochs=6, lr_schedule="cosine", seed=3)
    full.fit(X)
    # interrupted after epoch 3 (as a checkpointing callback would)
    first = Trainer(_net(), batch_size=16, max_epochs=6, lr_schedule="cosine", seed=3,
                    callback=lambda t, epoch, logs: epoch == 3)
    first.fit(X)
    assert first.result.n_iter == 3
    state = first.state_dict()
    second = Trainer(_net(seed=9), batch_size=16, max_epochs=6, lr_schedule="cosine", seed=99)
    second.load_state_dict(state, steps_per_epoch=4)
    second.fit(X)
    assert second.result.loss_curve == full.result.loss_curve
    for a, b in zip(full.net.state_dict().values(), second.net.state_dict().values()):
        assert torch.equal(a, b)


def test_callback_can_stop():
    calls = []
    trainer = Trainer(_net(), max_epochs=50, callback=lambda t, e, logs: calls.append(logs) or e == 2)
    result = trainer.fit(_data())
    assert result.n_iter == 2 and result.stopped_early
    assert set(calls[0]) >= {"loss", "val_loss", "lr", "seconds"}


def test_divergence_raises_and_restores():
    trainer = Trainer(_net(), optimizer="sgd", momentum=0.0, learning_rate=1e8, max_epochs=10, batch_size=8)
    with pytest.raises(TrainingDivergedError, match="epoch 1"):
        trainer.fit(_data() * 1e3)
    assert all(torch.isfinite(p).all() for p in trainer.net.parameters())


def test_divergence_rolls_back_the_whole_epoch_so_training_can_go_on():
    # the weights alone were restored: the optimiser kept the diverged epoch's moments (NaN) and its step count,
    # and the epoch counter ran one ahead of the result's n_iter
    X = _data() * 1e3
    trainer = Trainer(_net(), learning_rate=1e-3, max_epochs=1, batch_size=8)
    trainer.fit(X)  # one epoch of moments to roll back to
    trainer.max_epochs = 6
    before = trainer.state_dict()
    for group in trainer.optimizer.param_groups:
        group["lr"] = 1e12
    with pytest.raises(TrainingDivergedError, match="epoch 2"):
        trainer.fit(X)
    after = trainer.state_dict()
    assert trainer.epoch == trainer.result.n_iter == 1
    for name, moments in before["optimizer"]["state"].items():
        for key, value in moments.items():
            torch.testing.assert_close(after["optimizer"]["state"][name][key], value)
    assert torch.equal(after["shuffle_generator"], before["shuffle_generator"])
    for group in trainer.optimizer.param_groups:  # a sane step size, and training goes on from there
        group["lr"] = 1e-3
    trainer.fit(X)
    assert trainer.result.n_iter == 6 and len(trainer.result.loss_curve) == 6
    assert all(torch.isfinite(p).all() for p in trainer.net.parameters())


def test_divergence_rolls_back_onecycle_after_epochs_of_warm_up():
    # the schedule goes back to where the diverged epoch began, not to its start (torch 2.2's OneCycleLR also
    # keeps its annealing function in its state, which the roll-back leaves in place)
    trainer = Trainer(_net(), optimizer="sgd", momentum=0.0, learning_rate=0.1, lr_schedule="onecycle",
                      max_epochs=20, batch_size=8)
    after_each = []  # the schedule's state at the end of every completed epoch
    trainer.callback = lambda t, epoch, logs: after_each.append(t.state_dict()["scheduler"]) and False
    with pytest.raises(TrainingDivergedError):  # as the step size warms up to 0.1 (epoch 5 here)
        trainer.fit(_data())
    assert after_each and trainer.epoch == len(after_each)  # it diverged after warming up for some epochs
    assert trainer.state_dict()["scheduler"] == after_each[-1]


def test_divergence_rolls_back_a_per_step_schedule():
    X = _data() * 1e3
    trainer = Trainer(_net(), lr_schedule="cosine", max_epochs=4, batch_size=8)
    trainer.fit(X[:8])
    trainer.max_epochs = 8
    before = trainer.state_dict()["scheduler"]
    for group in trainer.optimizer.param_groups:
        group["lr"] = 1e12
    with pytest.raises(TrainingDivergedError, match="epoch 5"):
        trainer.fit(X)
    assert trainer.state_dict()["scheduler"] == before


def test_a_fit_without_validation_does_not_compare_training_losses_with_a_validation_best():
    X = _data()
    trainer = Trainer(_net(), max_epochs=5, n_iter_no_change=3, batch_size=16)
    trainer.fit(X, X[:1] * 0.0)  # a validation set the net reconstructs almost exactly: a tiny best
    assert trainer.result.validation_curve[-1] < 0.1 * trainer.result.loss_curve[-1]
    trainer.max_epochs = 25
    result = trainer.fit(X)  # monitors its training loss, which improves every epoch here
    assert result.n_iter == 25 and not result.stopped_early
    assert result.best_epoch == 25
    # and back: a validation fit after a training-loss one starts its own best
    trainer.max_epochs = 28
    result = trainer.fit(X, X[:1] * 0.0 + 100.0)  # far worse than any training loss
    assert result.n_iter == 28 and result.best_epoch > 25  # its own best, kept


def test_bfloat16_autocast_trains():
    trainer = Trainer(_net(), precision="bfloat16", batch_size=16, max_epochs=30, learning_rate=1e-2)
    result = trainer.fit(_data())
    assert result.loss_curve[-1] < 0.5 * result.loss_curve[0]


def test_topk_keeps_k_largest():
    h = torch.tensor([[0.1, 3.0, -1.0, 2.0]])
    assert TopK(2)(h).tolist() == [[0.0, 3.0, 0.0, 2.0]]


@pytest.mark.parametrize("name", ["tpu", "cuda:x", 3])
def test_resolve_device_errors(name):
    with pytest.raises(ValueError, match="device"):
        resolve_device(name)


def test_resolve_device_auto_and_cpu():
    assert resolve_device("cpu").type == "cpu"
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")


def test_params_errors():
    from aekit._params import Param

    with pytest.raises(ValueError, match="x must be one of {'a', 'b'}; got 'c'."):
        Param("str", "", choices=("a", "b")).check("x", "c")
    with pytest.raises(ValueError, match="x must be > 0; got 0"):
        Param("float", "", low=0, low_open=True).check("x", 0)
    with pytest.raises(TypeError, match="x must be an int"):
        Param("int", "").check("x", True)
    with pytest.raises(ValueError, match="x must be a number; got nan"):
        Param("float", "").check("x", np.nan)
    with pytest.raises(ValueError, match=r"\(height, width\)"):
        Param("shape", "").check("x", (3,))


def test_epoch_data_replaces_the_training_data_per_epoch():
    X = _data(64)
    asked, seen, rows = [], [], [0]

    def epoch_data(epoch):
        asked.append(epoch)
        return None if epoch == 0 else _data(32 * epoch, seed=epoch)

    def callback(trainer, epoch, logs):
        seen.append(rows[0])
        rows[0] = 0

    trainer = Trainer(_net(), batch_size=16, max_epochs=3, epoch_data=epoch_data, callback=callback)
    objective = trainer._objective

    def counting(x, *args, **kwargs):
        rows[0] += x.shape[0]
        return objective(x, *args, **kwargs)

    trainer._objective = counting
    trainer.fit(X)
    assert asked == [0, 1, 2] and seen == [64, 32, 64]  # epoch 0 keeps X, then fresh data
    with pytest.raises(ValueError, match=r"epoch_data\(1\) returned shape \(32, 5\); expected \(n, 6\)"):
        Trainer(_net(), max_epochs=2, epoch_data=lambda e: None if e == 0 else torch.zeros(32, 5)).fit(X)
    with pytest.raises(ValueError, match="with n=64 \\(per-step schedule\\)"):
        Trainer(_net(), max_epochs=2, lr_schedule="onecycle",
                epoch_data=lambda e: None if e == 0 else torch.zeros(32, 6)).fit(X)
    with pytest.raises(ValueError, match="epoch_data cannot be combined with a mask"):
        Trainer(_net(), max_epochs=1, epoch_data=lambda e: None).fit(X, mask=torch.ones_like(X))


def test_device_may_be_a_torch_device():
    import json
    import tempfile
    from pathlib import Path

    from aekit import Autoencoder, load

    X = np.random.default_rng(0).random((40, 6)).astype(np.float32)
    ae = Autoencoder(2, hidden_layer_sizes=(8,), max_epochs=1, random_state=0, device=torch.device("cpu")).fit(X)
    assert ae.device_ == "cpu"
    with tempfile.TemporaryDirectory() as tmp:
        ae.save(Path(tmp) / "m")
        assert json.loads((Path(tmp) / "m" / "config.json").read_text())["params"]["device"] == "cpu"
        np.testing.assert_array_equal(load(Path(tmp) / "m").transform(X), ae.transform(X))
    with pytest.raises(TypeError, match="device must be a string or a torch.device; got int"):
        Autoencoder(device=0).fit(X)
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            Autoencoder(device=torch.device("cuda")).fit(X)


@pytest.mark.parametrize("name, value", [("lr_schedule", "cosin"), ("loss", "l1"), ("optimizer", "rmsprop"),
                                         ("precision", "float16")])
def test_trainer_refuses_unknown_names(name, value):
    # an unknown lr_schedule trained at a constant rate, silently; the others raised a bare KeyError
    from aekit.nets import MLPAutoencoder

    with pytest.raises(ValueError, match=f"{name} must be one of .*; got '{value}'"):
        Trainer(MLPAutoencoder(4, (3,), 2), **{name: value})


# ------------------------------------------- values pinned by independent computations (mutation hunt)


def test_a_loss_that_stops_improving_stops_training_even_with_tol_zero():
    # learning_rate 0: the validation loss is the same every epoch; "improves" means strictly below the best,
    # so epochs 2 and 3 are the 2 epochs without improvement and training stops after epoch 3
    X = _data()
    trainer = Trainer(_net(), learning_rate=0.0, tol=0.0, n_iter_no_change=2, max_epochs=10, batch_size=16)
    result = trainer.fit(X, X_val=X[:16])
    assert result.n_iter == 3 and result.stopped_early and result.best_epoch == 1
    assert len(set(result.validation_curve)) == 1


def test_without_validation_the_net_holds_the_last_epochs_weights_and_best_epoch_says_so():
    # tol=0.5: no epoch after the first improves enough, yet without validation data nothing is restored
    settings = dict(n_iter_no_change=10, max_epochs=3, batch_size=16, learning_rate=1e-4)
    trainer = Trainer(_net(), tol=0.5, **settings)
    result = trainer.fit(_data())
    assert result.n_iter == 3 and result.best_epoch == 3 and not result.stopped_early
    assert result.loss_curve[-1] > 0.5 * result.loss_curve[0]  # the premise: epochs 2 and 3 did not count
    plain = Trainer(_net(), tol=0.0, **settings)
    plain.fit(_data())
    for a, b in zip(trainer.net.parameters(), plain.net.parameters()):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_evaluate_is_the_mean_loss_over_samples_across_unequal_chunks():
    # 70 rows with batch_size 8: chunks of 32, 32 and 6 rows, each weighted by its size
    X = _data(n=70)
    trainer = Trainer(_net(), batch_size=8)
    with torch.no_grad():
        expected = float(((trainer.net(X) - X) ** 2).mean())
    assert trainer.evaluate(X) == pytest.approx(expected, rel=1e-5)


def test_the_loss_compares_the_reconstruction_of_the_corrupted_input_with_the_clean_batch():
    # a deterministic corruption (+1) and learning_rate 0: the epoch's loss is mse(net(x + 1), x), by hand
    X = _data()
    trainer = Trainer(_net(), corruption=lambda x, generator: x + 1.0, learning_rate=0.0, batch_size=16,
                      max_epochs=1)
    loss = trainer.fit(X).loss_curve[0]
    with torch.no_grad():
        expected = float(((trainer.net(X + 1.0) - X) ** 2).mean())
        wrong = float(((trainer.net(X + 1.0) - (X + 1.0)) ** 2).mean())
    assert loss == pytest.approx(expected, rel=1e-5) and loss != pytest.approx(wrong, rel=1e-3)


@pytest.mark.parametrize("schedule", ["plateau", "warmup_plateau"])
def test_plateau_schedules_halve_after_half_the_early_stopping_patience(schedule):
    trainer = Trainer(_net(), lr_schedule=schedule, n_iter_no_change=6, max_epochs=1, batch_size=16)
    trainer.fit(_data())
    assert trainer.scheduler.factor == 0.5 and trainer.scheduler.patience == 3


def test_plateau_schedules_monitor_the_validation_loss_when_there_is_one():
    X = _data()
    trainer = Trainer(_net(), lr_schedule="plateau", max_epochs=3, batch_size=16)
    trainer.scheduler = trainer._make_scheduler(1)
    seen, step = [], trainer.scheduler.step
    trainer.scheduler.step = lambda metrics, *a: (seen.append(metrics), step(metrics, *a))
    result = trainer.fit(X, X_val=X[:16] + 1.0)
    assert seen == result.validation_curve and seen != result.loss_curve


def test_cosine_schedule_anneals_over_every_step_of_max_epochs():
    # 64 rows, batch_size 16: 4 steps per epoch, 16 in all; after epoch e the rate is lr (1 + cos(pi e / 4)) / 2
    lrs = []
    trainer = Trainer(_net(), lr_schedule="cosine", learning_rate=1e-2, max_epochs=4, batch_size=16,
                      callback=lambda trainer, epoch, logs: lrs.append(logs["lr"]))
    trainer.fit(_data())
    expected = [1e-2 * (1 + np.cos(np.pi * e / 4)) / 2 for e in range(1, 5)]
    np.testing.assert_allclose(lrs, expected, atol=1e-12)


def test_fit_epoch_after_a_fit_with_validation_trains_instead_of_restoring_the_old_best_weights():
    # the best weights kept by fit(X, X_val) used to be loaded back at the end of every later epoch without
    # validation data, so fit_epoch (and fit(X)) silently left the network where the first fit had put it
    X = _data()
    trainer = Trainer(_net(), batch_size=16, max_epochs=3)
    trainer.fit(X, _data(n=32, seed=1))
    before = [p.detach().clone() for p in trainer.net.parameters()]
    trainer.fit_epoch(X)
    assert any(not torch.equal(a, b) for a, b in zip(before, trainer.net.parameters()))
    assert trainer.result.best_epoch == trainer.epoch == 4


@pytest.mark.parametrize("schedule", ["cosine", "onecycle"])
def test_fit_epoch_refuses_the_schedules_that_span_max_epochs(schedule):
    # "cosine" restarted its rate every epoch (0.001, 0.0, 0.001, ...) and "onecycle" failed on the second call
    trainer = Trainer(_net(), batch_size=16, lr_schedule=schedule)
    with pytest.raises(ValueError, match=f"fit_epoch cannot follow lr_schedule='{schedule}'"):
        trainer.fit_epoch(_data())
    assert trainer.epoch == 0


def test_a_penalty_returning_a_non_scalar_is_named():
    trainer = Trainer(_net(), penalty=lambda code: code.abs(), max_epochs=1)
    with pytest.raises(ValueError, match=r"penalty must return a scalar tensor; got one of shape \(64, 3\)"):
        trainer.fit(_data())


@pytest.mark.parametrize("corruption", [lambda x, g: x[:-1], lambda x, g: x[:, :-1]])
def test_a_corruption_changing_the_batch_shape_is_named(corruption):
    # dropping a row gave a broadcasting warning and a size mismatch, dropping a column a matmul error in the net
    trainer = Trainer(_net(), corruption=corruption, max_epochs=1)
    with pytest.raises(ValueError, match=r"corruption must return a tensor of its input's shape \(64, 6\)"):
        trainer.fit(_data())


def test_epoch_data_takes_training_data_given_as_a_list_of_rows():
    # fit read X.n_features off anything without a shape: a list of rows failed with an AttributeError
    fresh = _data(n=32, seed=2)
    trainer = Trainer(_net(), batch_size=16, max_epochs=2, epoch_data=lambda epoch: fresh if epoch else None)
    result = trainer.fit(_data().tolist())
    assert result.n_iter == 2 and len(result.loss_curve) == 2


def test_compile_refuses_a_penalty_that_differentiates_the_code_with_respect_to_the_input():
    # the contraction penalty's double backward failed at the first batch inside torch ("Batching rule not
    # implemented for aten::addmm.out"; without vmap: "torch.compile ... does not currently support double backward")
    from aekit.contractive import JacobianPenalty

    with pytest.raises(ValueError, match="compile=True cannot be combined with a penalty .*needs_input"):
        Trainer(_net(), penalty=JacobianPenalty(0.1), compile=True)


@pytest.mark.parametrize("name, value", [("batch_size", 0), ("n_iter_no_change", 0), ("num_threads", 0),
                                         ("max_epochs", -1)])
def test_trainer_refuses_counts_out_of_range(name, value):
    # n_iter_no_change=0 trained no epoch and returned an empty curve; batch_size=0 failed in torch.split
    # ("split_size can only be 0 if dimension size is 0"), num_threads=0 in torch.set_num_threads
    with pytest.raises(ValueError, match=f"{name} must be >= "):
        Trainer(_net(), **{name: value})


def test_training_data_without_rows_is_refused():
    # it ran its epochs on nothing and returned a loss curve of zeros
    trainer = Trainer(_net(), max_epochs=3)
    for X in (torch.zeros(0, 6), np.zeros((0, 6), dtype=np.float32)):
        with pytest.raises(ValueError, match="X has no rows to train on"):
            trainer.fit(X)
    assert trainer.result.loss_curve == [] and trainer.epoch == 0
