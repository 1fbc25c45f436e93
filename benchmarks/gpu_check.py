"""GPU path check: same results as on the CPU, no per-step host syncs, throughput.

Runs anywhere; without CUDA it says so and exits 0. With a GPU it checks, in
about a minute:

1. correctness: the same seeded training on CPU and CUDA (TF32 off) ends with
   the same loss curve and weights to float tolerance; the estimator's
   ``transform`` and ``score_samples`` agree; a memory-mapped file streamed
   to the GPU (pinned memory, non-blocking copies) trains exactly like the
   same data resident on the GPU; ``partial_fit`` three times equals ``fit``
   for three epochs; the contractive penalty (a double backward) trains and
   contracts;
2. host syncs: with ``torch.cuda.set_sync_debug_mode("warn")`` the number of
   synchronising calls per epoch does not grow with the number of steps;
3. throughput: matmul rate at the net's sizes, training samples/s and
   GFLOP/s (fp32, TF32, bf16) for the 784-1000-500-250-30 autoencoder,
   inference samples/s.

Usage::

    python benchmarks/gpu_check.py [--quick] [--out gpu_check.json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from aekit import Autoencoder, ContractiveAutoencoder  # noqa: E402
from aekit.contractive import jacobian_norms  # noqa: E402
from aekit.nets import MLPAutoencoder  # noqa: E402
from aekit.training import Trainer  # noqa: E402
from throughput import step_flops, step_products  # noqa: E402  (benchmarks/throughput.py: the same step's products)

BIG = (1000, 500, 250)
DEVICE = "cuda"  # --self-test-on-cpu swaps in "cpu" to check this script's logic where no GPU is lent


def sync():
    if DEVICE == "cuda":
        torch.cuda.synchronize()


def data(n=4096, d=784, seed=0):
    try:
        from aekit.datasets import load_fashion_mnist

        return load_fashion_mnist().X_train[:n]
    except Exception:  # no data files: low-rank synthetic data in [0, 1]
        rng = np.random.default_rng(seed)
        X = rng.random((n, 20)) @ rng.random((20, d))
        return (X / X.max()).astype(np.float32)


def train(X, device, epochs=3, hidden=(256, 64), **kw):
    torch.manual_seed(0)
    net = MLPAutoencoder(X.shape[1], hidden, 16)
    tr = Trainer(net, batch_size=128, max_epochs=epochs, seed=1, device=device, **kw)
    result = tr.fit(X)
    return result.loss_curve, {k: v.detach().cpu() for k, v in net.state_dict().items()}


def check_correctness(X):
    torch.backends.cuda.matmul.allow_tf32 = False
    out = {}
    cpu_curve, cpu_w = train(torch.from_numpy(X), "cpu")
    gpu_curve, gpu_w = train(torch.from_numpy(X), DEVICE)
    out["loss_curve_max_rel_diff"] = float(np.max(np.abs(np.array(gpu_curve) / np.array(cpu_curve) - 1)))
    out["weights_max_abs_diff"] = max(float((gpu_w[k] - cpu_w[k]).abs().max()) for k in cpu_w)
    out["train_cpu_vs_cuda_ok"] = out["loss_curve_max_rel_diff"] < 1e-3 and out["weights_max_abs_diff"] < 1e-3

    est = dict(n_components=8, hidden_layer_sizes=(64,), max_epochs=3, random_state=0)
    a = Autoencoder(device="cpu", **est).fit(X)
    b = Autoencoder(device=DEVICE, **est).fit(X)
    out["estimator_device"] = b.device_
    out["transform_max_abs_diff"] = float(np.abs(a.transform(X) - b.transform(X)).max())
    out["estimator_cpu_vs_cuda_ok"] = out["transform_max_abs_diff"] < 1e-3
    errors_cpu, errors_gpu = -a.score_samples(X), -b.score_samples(X)
    out["score_samples_max_rel_diff"] = float(np.max(np.abs(errors_gpu / errors_cpu - 1)))
    out["score_samples_cpu_vs_cuda_ok"] = out["score_samples_max_rel_diff"] < 1e-2

    # partial_fit on the device: three calls on X are fit for three epochs at the constant rate
    incremental = Autoencoder(device=DEVICE, **{**est, "max_epochs": 1})
    for _ in range(3):
        incremental.partial_fit(X)
    whole = Autoencoder(device=DEVICE, lr_schedule="constant", validation_fraction=0.0, n_iter_no_change=100,
                        **est).fit(X)
    out["partial_fit_vs_fit_max_abs_diff"] = float(np.abs(incremental.transform(X) - whole.transform(X)).max())
    out["partial_fit_equals_fit_ok"] = out["partial_fit_vs_fit_max_abs_diff"] < 1e-4

    # the contraction penalty's double backward on the device (its projections come from the device's RNG,
    # so it is compared with the plain model, not with the CPU run)
    contractive = ContractiveAutoencoder(device=DEVICE, contraction_weight=1e-3, **est).fit(X)
    plain_norm, contracted_norm = (float(jacobian_norms(m, X[:256]).mean()) for m in (b, contractive))
    out["jacobian_norm_plain_vs_contractive"] = [plain_norm, contracted_norm]
    out["contractive_on_device_ok"] = bool(np.isfinite(contractive.loss_curve_).all() and
                                           contracted_norm < plain_norm)

    with tempfile.TemporaryDirectory() as tmp:
        np.save(Path(tmp) / "x.npy", X)
        mm = np.load(Path(tmp) / "x.npy", mmap_mode="r", allow_pickle=False)
        stream_curve, stream_w = train(mm, DEVICE)
    out["streamed_equals_resident_on_cuda"] = stream_curve == gpu_curve and all(
        torch.equal(stream_w[k], gpu_w[k]) for k in gpu_w)
    for precision in ("bfloat16",):
        curve, _ = train(torch.from_numpy(X), DEVICE, precision=precision)
        out[f"{precision}_loss_ratio_to_fp32"] = curve[-1] / gpu_curve[-1]
    return out


def count_syncs(X, n):
    """Synchronising CUDA calls during one epoch of ``n`` samples (after a warm-up epoch)."""
    torch.manual_seed(0)
    tr = Trainer(MLPAutoencoder(X.shape[1], (256, 64), 16), batch_size=64, max_epochs=1, device=DEVICE)
    tr.fit(torch.from_numpy(X[:256]))
    tr.max_epochs = 2
    Xd = torch.from_numpy(X[:n]).to(DEVICE)
    sync()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if DEVICE == "cuda":
            torch.cuda.set_sync_debug_mode("warn")
        try:
            tr.fit(Xd)
        finally:
            if DEVICE == "cuda":
                torch.cuda.set_sync_debug_mode("default")
    return sum("synchroniz" in str(w.message) for w in caught)


def rate(fn, seconds):
    fn()
    sync()
    calls, tic = 0, time.perf_counter()
    while time.perf_counter() - tic < seconds:
        fn()
        calls += 1
    sync()
    return calls / (time.perf_counter() - tic)


def throughput(X, seconds, batch_size):
    out = {}
    B = batch_size
    flops = step_flops(784, BIG, 30, B)  # the matrix products of one training step (none for the data's gradient)

    def gemms_of(dtype):
        products = step_products(784, BIG, 30, B, device=DEVICE, dtype=dtype)

        def gemms():
            for a, b in products:
                a @ b

        return gemms

    Xd = torch.from_numpy(X).to(DEVICE)
    for mode in ("fp32", "tf32", "bf16"):
        torch.backends.cuda.matmul.allow_tf32 = mode == "tf32"
        mm = flops * rate(gemms_of(torch.bfloat16 if mode == "bf16" else torch.float32), seconds / 2) / 1e9
        torch.manual_seed(0)
        tr = Trainer(MLPAutoencoder(784, BIG, 30), batch_size=B, max_epochs=1, device=DEVICE,
                     precision="bfloat16" if mode == "bf16" else "float32", n_iter_no_change=10**9)
        tr.fit(Xd[:4 * B])  # warm-up
        n = Xd.shape[0]
        per_epoch = 1 / rate(lambda: (setattr(tr, "max_epochs", tr.max_epochs + 1), tr.fit(Xd)), seconds)
        sps = n / per_epoch
        out[mode] = {"matmul_gflops_net_gemms": mm, "train_samples_per_s": sps,
                     "train_gflops": sps * flops / B / 1e9, "fraction_of_matmul": sps * flops / B / 1e9 / mm}
    torch.backends.cuda.matmul.allow_tf32 = False
    est = Autoencoder(n_components=30, hidden_layer_sizes=BIG, max_epochs=1, random_state=0,
                      device=DEVICE).fit(X[:512])
    out["inference_samples_per_s"] = len(X) * rate(lambda: est.reconstruct(X), seconds / 2)
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description="aekit GPU path check")
    p.add_argument("--quick", action="store_true")
    p.add_argument("--seconds", type=float, default=5.0)
    p.add_argument("--out", type=Path, default=Path(os.environ.get("OUT", ".")) / "gpu_check.json")
    p.add_argument("--self-test-on-cpu", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    global DEVICE
    if args.self_test_on_cpu:
        DEVICE = "cpu"
    elif not torch.cuda.is_available():
        print("no CUDA: torch.cuda.is_available() is False, nothing to check on this machine.")
        return 0
    seconds = 1.0 if args.quick else args.seconds
    X = data(2048 if args.quick else 16384)
    if args.self_test_on_cpu:
        X = X[:1024]
    res = {"device": torch.cuda.get_device_name() if DEVICE == "cuda" else "cpu (self-test)",
           "torch": torch.__version__}
    tic = time.perf_counter()
    res["correctness"] = check_correctness(X[:2048])
    # epochs of a quarter of the rows and of all of them (4x the steps); the rows X has, not more: X[:n] is cut there
    sizes = (len(X) // 4, len(X))
    syncs = {n: count_syncs(X, n) for n in sizes}
    res["syncs_per_epoch"] = {str(k): v for k, v in syncs.items()}
    res["syncs_do_not_grow_with_steps"] = syncs[sizes[1]] <= syncs[sizes[0]]
    res["throughput"] = throughput(X, seconds, 1024)
    res["seconds"] = time.perf_counter() - tic
    ok = all(v for k, v in res["correctness"].items() if k.endswith("_ok") or k.startswith("streamed"))
    res["ok"] = bool(ok and res["syncs_do_not_grow_with_steps"])
    print(json.dumps(res, indent=2))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(res, indent=2) + "\n")
    print(f"{'OK' if res['ok'] else 'FAILED'}: wrote {args.out}")
    return 0 if res["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
