"""The fast training paths give the same results as a plain loop; devices, threads, bf16, schedule, init."""

import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import aekit._inference
from aekit import Autoencoder
from aekit._feed import Resident, Streamed, make_feed
from aekit.nets import MLPAutoencoder
from aekit.streaming import ArraySource
from aekit.training import WARMUP_STEPS, Trainer, WarmupPlateau, resolve_device


def _X(n=96, d=10, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((n, 3)) @ rng.standard_normal((3, d))).astype(np.float32)


def _net(d=10, seed=0, hidden=(8,)):
    torch.manual_seed(seed)
    return MLPAutoencoder(d, hidden, 3)


def _reference_loop(X, epochs, batch_size, seed, lr):
    """The textbook loop: same init and batch order as the Trainer, per-parameter Adam, no fast path."""
    net = _net()
    opt = torch.optim.Adam(net.parameters(), lr=lr, foreach=False)
    gen = torch.Generator().manual_seed(seed)
    curve = []
    for _ in range(epochs):
        total = 0.0
        for idx in torch.split(torch.randperm(len(X), generator=gen), batch_size):
            xb = X[idx]
            loss = torch.nn.functional.mse_loss(net(xb), xb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        curve.append(total / len(X))
    return curve, net


def test_trainer_matches_textbook_loop():
    X = torch.from_numpy(_X())
    ref_curve, ref_net = _reference_loop(X, epochs=4, batch_size=16, seed=7, lr=1e-2)
    trainer = Trainer(_net(), batch_size=16, max_epochs=4, seed=7, learning_rate=1e-2)
    curve = trainer.fit(X).loss_curve
    np.testing.assert_allclose(curve, ref_curve, rtol=1e-5)
    for p, q in zip(trainer.net.parameters(), ref_net.parameters()):
        torch.testing.assert_close(p, q, rtol=1e-5, atol=1e-6)


def test_subset_source_prefetch_and_threads_do_not_change_results(tmp_path):
    X = _X()
    np.save(tmp_path / "x.npy", X)
    idx = np.random.default_rng(0).permutation(len(X))[:70]
    runs = []
    threads = torch.get_num_threads()
    for data, kw in [(torch.from_numpy(X[idx]), {}),
                     (ArraySource(X, indices=idx), {}),
                     (ArraySource(np.load(tmp_path / "x.npy", mmap_mode="r"), indices=idx), {"prefetch": 0}),
                     (ArraySource(np.load(tmp_path / "x.npy", mmap_mode="r"), indices=idx),
                      {"prefetch": 3, "num_threads": 1})]:
        trainer = Trainer(_net(), batch_size=16, max_epochs=3, seed=1, **kw)
        runs.append((trainer.fit(data).loss_curve, [p.detach().clone() for p in trainer.net.parameters()]))
        assert torch.get_num_threads() == threads  # num_threads is scoped to fit
    for curve, params in runs[1:]:
        assert curve == runs[0][0]
        assert all(torch.equal(p, q) for p, q in zip(params, runs[0][1]))


def test_in_memory_data_is_not_copied_on_cpu():
    X = _X()
    feed = make_feed(ArraySource(X, indices=np.arange(50)), None, torch.device("cpu"), {})
    assert isinstance(feed, Resident) and feed.X.data_ptr() == X.ctypes.data
    val = make_feed(torch.from_numpy(X), None, torch.device("cpu"), {})
    assert val.X.data_ptr() == X.ctypes.data


def test_memmap_is_streamed_not_loaded(tmp_path):
    np.save(tmp_path / "x.npy", _X())
    feed = make_feed(np.load(tmp_path / "x.npy", mmap_mode="r"), None, torch.device("cpu"), {})
    assert isinstance(feed, Streamed)


def test_bfloat16_converges_close_to_float32():
    X = torch.from_numpy(_X(n=256))
    curves = {}
    for precision in ("float32", "bfloat16"):
        trainer = Trainer(_net(), precision=precision, batch_size=32, max_epochs=25, learning_rate=1e-2, seed=0)
        curves[precision] = trainer.fit(X).loss_curve
    assert curves["bfloat16"][-1] < 0.1 * curves["bfloat16"][0]
    assert curves["bfloat16"][-1] < 2 * curves["float32"][-1] + 1e-3


def test_bfloat16_estimator_beats_pca():
    from sklearn.decomposition import PCA

    rng = np.random.default_rng(0)
    t = rng.uniform(0, 2 * np.pi, (600, 1))
    X = np.hstack([np.cos(t), np.sin(t), np.cos(2 * t), np.sin(3 * t)]).astype(np.float32)  # a closed curve
    ae = Autoencoder(n_components=1, hidden_layer_sizes=(32, 16), precision="bfloat16", max_epochs=60,
                     random_state=0, device="cpu").fit(X)
    pca = PCA(1).fit(X)
    pca_err = ((pca.inverse_transform(pca.transform(X)) - X) ** 2).sum(1).mean()
    assert -ae.score(X) < 0.5 * pca_err


@pytest.mark.parametrize("native", [False, True])
def test_bfloat16_on_a_cpu_without_native_bfloat16_warns_that_it_is_slower(monkeypatch, caplog, native):
    """On an AVX2-only CPU (no AVX-512 BF16, no AMX) oneDNN emulates bfloat16 products: measured 5 GFLOP/s
    against 22 in float32 for the 784-1000 layer, so asking for bfloat16 to go faster made training slower."""
    import aekit.training

    monkeypatch.setattr(aekit.training, "fast_bfloat16", lambda device: native)
    with caplog.at_level("WARNING", logger="aekit.training"):
        Trainer(_net(), precision="bfloat16")
        Trainer(_net(), precision="float32")
    warned = [r.getMessage() for r in caplog.records if "bfloat16" in r.getMessage()]
    assert len(warned) == (0 if native else 1)
    if warned:
        assert "without native bfloat16" in warned[0] and "precision='float32' trains faster" in warned[0]


def test_fast_bfloat16_asks_onednn_on_the_cpu(monkeypatch):
    from aekit.training import fast_bfloat16

    for answer in (False, True):
        monkeypatch.setattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", lambda answer=answer: answer)
        assert fast_bfloat16("cpu") is answer
    assert fast_bfloat16(torch.device("cpu")) is True


def test_compile_is_opt_in():
    assert Trainer(_net()).step_module.__class__.__name__ == "_Step"
    assert hasattr(Trainer(_net(), compile=True).step_module, "_orig_mod")


def test_inference_is_chunked_without_autograd(monkeypatch):
    X = _X()
    ae = Autoencoder(n_components=3, hidden_layer_sizes=(8,), max_epochs=2, random_state=0, device="cpu").fit(X)
    full = ae.transform(X)
    monkeypatch.setattr(aekit._inference, "INFERENCE_BATCH", 7)
    np.testing.assert_allclose(ae.transform(X), full, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(ae.reconstruct(X), ae.inverse_transform(full), rtol=1e-5, atol=1e-5)
    seen = []
    ae.net_.encoder.register_forward_hook(lambda m, i, o: seen.append((o.requires_grad, torch.is_inference(o))))
    ae.transform(X)
    assert seen and all(not g and inf for g, inf in seen)


def test_warmup_plateau_ramps_then_halves_on_plateau():
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.Adam([p], lr=0.1)
    sched = WarmupPlateau(opt, warmup_steps=4, factor=0.5, patience=1)
    lrs = [opt.param_groups[0]["lr"]]
    for _ in range(6):
        sched.step_batch()
        lrs.append(opt.param_groups[0]["lr"])
    np.testing.assert_allclose(lrs, [0.025, 0.05, 0.075, 0.1, 0.1, 0.1, 0.1])
    for loss in (1.0, 1.0, 1.0):
        sched.step(loss)
    assert opt.param_groups[0]["lr"] == pytest.approx(0.05)
    state = sched.state_dict()
    opt2 = torch.optim.Adam([p], lr=0.1)
    again = WarmupPlateau(opt2, warmup_steps=4, factor=0.5, patience=1)
    again.load_state_dict(state)
    assert opt2.param_groups[0]["lr"] == pytest.approx(0.05) and again.batches == 6


def test_warmup_is_at_most_one_epoch():
    trainer = Trainer(_net(), batch_size=16, max_epochs=1, lr_schedule="warmup_plateau", learning_rate=1e-2)
    lrs = []
    trainer.callback = lambda t, epoch, logs: lrs.append(logs["lr"])
    trainer.fit(_X())  # 6 steps per epoch, far fewer than WARMUP_STEPS
    assert trainer.scheduler.warmup_steps == 6 < WARMUP_STEPS and lrs == [1e-2]


def test_defaults_changed_for_time_to_quality():
    params = Autoencoder().get_params()
    assert (params["learning_rate"], params["lr_schedule"], params["batch_size"]) == (2e-3, "warmup_plateau", 128)


@pytest.mark.parametrize("activation,std", [("relu", lambda i, o: np.sqrt(2 / i)),
                                            ("tanh", lambda i, o: 5 / 3 * np.sqrt(2 / (i + o)))])
def test_initialisation_suits_the_activation(activation, std):
    torch.manual_seed(0)
    net = MLPAutoencoder(400, (300,), 200, activation=activation)
    hidden, code = net.encoder[0], net.encoder[2]
    assert float(hidden.weight.detach().std()) == pytest.approx(std(400, 300), rel=0.05)
    assert float(code.weight.detach().std()) == pytest.approx(np.sqrt(2 / 500), rel=0.05)  # linear code: Glorot
    assert all(float(m.bias.detach().abs().max()) == 0 for m in net.modules() if isinstance(m, torch.nn.Linear))


@pytest.mark.parametrize("name,match", [("cuda", "CUDA is not available"), ("cuda:3", "CUDA is not available"),
                                        ("mps", "MPS is not available"),
                                        ("tpu", "device must be 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps'; got 'tpu'")])
def test_unavailable_devices_are_refused(name, match):
    if torch.cuda.is_available() and name.startswith("cuda"):
        pytest.skip("CUDA is available here")
    if torch.backends.mps.is_available() and name == "mps":
        pytest.skip("MPS is available here")
    with pytest.raises(ValueError, match=match):
        resolve_device(name)
    with pytest.raises(ValueError, match=match):
        Autoencoder(max_epochs=1, device=name).fit(_X())


def test_device_selection():
    assert resolve_device("auto") == torch.device("cuda" if torch.cuda.is_available() else "cpu")
    trainer = Trainer(_net(), device="cpu")
    assert trainer.device == torch.device("cpu") and trainer.noise_generator.device == torch.device("cpu")
    ae = Autoencoder(max_epochs=1, device="auto", hidden_layer_sizes=(4,)).fit(_X())
    assert ae.device_ == str(resolve_device("auto"))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_matches_cpu():
    X = torch.from_numpy(_X())
    torch.backends.cuda.matmul.allow_tf32 = False
    cpu = Trainer(_net(), batch_size=16, max_epochs=3, seed=2, device="cpu")
    gpu = Trainer(_net(), batch_size=16, max_epochs=3, seed=2, device="cuda")
    np.testing.assert_allclose(gpu.fit(X).loss_curve, cpu.fit(X).loss_curve, rtol=1e-4)
    for p, q in zip(gpu.net.parameters(), cpu.net.parameters()):
        torch.testing.assert_close(p.cpu(), q, rtol=1e-4, atol=1e-5)


def test_gpu_check_script_exits_cleanly_without_cuda(capsys, tmp_path):
    if torch.cuda.is_available():
        pytest.skip("CUDA is available: run benchmarks/gpu_check.py itself")
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    try:
        import gpu_check
    finally:
        sys.path.pop(0)
    assert gpu_check.main(["--out", str(tmp_path / "g.json")]) == 0
    assert "no CUDA" in capsys.readouterr().out
