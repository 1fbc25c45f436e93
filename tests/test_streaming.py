"""Streaming: memory-mapped arrays and iterables of batches train like in-memory data, in bounded memory."""

import json
import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import numpy as np
import pytest
import torch

from aekit import Autoencoder
from aekit.nets import MLPAutoencoder
from aekit.streaming import ArraySource, Batches, as_source, is_streamable, prefetch, release_pages
from aekit.training import Trainer

SRC = str(Path(__file__).resolve().parents[1] / "src")


def _X(n=150, d=9, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.random((n, 3)) @ rng.random((3, d))
    return (X / X.max()).astype(np.float32)  # in [0, 1], so bce applies too


@pytest.fixture
def memmap(tmp_path):
    X = _X()
    np.save(tmp_path / "x.npy", X)
    return X, np.load(tmp_path / "x.npy", mmap_mode="r")


def _estimator(**kw):
    return Autoencoder(**{"n_components": 2, "hidden_layer_sizes": (5,), "max_epochs": 4, "batch_size": 16,
                          "random_state": 0, "device": "cpu", **kw})


@pytest.mark.parametrize("kw", [{}, {"validation_fraction": 0.0}, {"loss": "bce", "lr_schedule": "cosine"}])
def test_memmap_fit_equals_in_memory_fit(memmap, kw):
    X, mm = memmap
    a = _estimator(**kw).fit(X)
    b = _estimator(**kw).fit(mm)
    assert a.loss_curve_ == b.loss_curve_ and a.validation_scores_ == b.validation_scores_
    for p, q in zip(a.net_.parameters(), b.net_.parameters()):
        assert torch.equal(p, q)
    assert b.n_features_in_ == X.shape[1]
    np.testing.assert_array_equal(a.transform(mm), a.transform(X))


def test_trainer_streams_memmap_with_mask_like_in_memory(tmp_path):
    X = _X()
    mask = (np.random.default_rng(1).random(X.shape) > 0.3).astype(np.float32)
    np.save(tmp_path / "m.npy", mask)
    np.save(tmp_path / "x.npy", X)
    curves = []
    for data in (ArraySource(X, mask), ArraySource(np.load(tmp_path / "x.npy", mmap_mode="r"),
                                                   np.load(tmp_path / "m.npy", mmap_mode="r"))):
        torch.manual_seed(0)
        trainer = Trainer(MLPAutoencoder(9, (5,), 2), batch_size=32, max_epochs=3, seed=2, prefetch=2)
        curves.append(trainer.fit(data.subset(np.arange(100)), data.subset(np.arange(100, 150))).loss_curve
                      + trainer.result.validation_curve)
    assert curves[0] == curves[1]


def test_iterable_of_batches_full_batch_matches_in_memory():
    X = _X()
    torch.manual_seed(0)
    a = Trainer(MLPAutoencoder(9, (5,), 2), batch_size=len(X), max_epochs=5, seed=0)
    ra = a.fit(torch.from_numpy(X))
    torch.manual_seed(0)
    b = Trainer(MLPAutoencoder(9, (5,), 2), batch_size=len(X), max_epochs=5, seed=0)
    rb = b.fit(Batches([X]))  # one batch: the order inside it does not change the mean loss
    np.testing.assert_allclose(ra.loss_curve, rb.loss_curve, rtol=1e-6)
    for p, q in zip(a.net.parameters(), b.net.parameters()):
        torch.testing.assert_close(p, q)


def test_batches_from_callable_dataloader_and_validation():
    X = _X()
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.from_numpy(X)), batch_size=40)
    assert is_streamable(loader) and isinstance(as_source(loader), Batches)
    est = _estimator().fit(loader)
    assert est.n_iter_ == 4 and est.validation_scores_ == []
    est = _estimator(lr_schedule="onecycle").fit(
        Batches(lambda: (X[i:i + 50] for i in range(0, 150, 50)), validation=X[:20]))
    assert len(est.validation_scores_) == est.n_iter_
    assert est.loss_curve_[-1] < est.loss_curve_[0]


def test_batches_errors():
    X = _X()
    with pytest.raises(TypeError, match="batches is an iterator"):
        Batches(iter([X]))
    with pytest.raises(TypeError, match="batches must be an iterable or a callable"):
        Batches(3)
    with pytest.raises(ValueError, match="batches is empty"):
        Batches([])
    with pytest.raises(ValueError, match=r"batch 0 must be 2-D"):
        Batches([X[0]])
    with pytest.raises(ValueError, match="batch 1 has 4 features; the first batch had 9"):
        list(Batches([X, X[:, :4]]))
    with pytest.raises(ValueError, match="mask is not supported with an iterable of batches"):
        Trainer(MLPAutoencoder(9, (), 2)).fit(Batches([X]), mask=np.ones_like(X))
    with pytest.raises(TypeError, match="cannot stream list"):
        as_source([X])


def test_array_source_take_subset_and_errors():
    X = np.arange(12.0).reshape(6, 2)
    src = ArraySource(X).subset([5, 0, 3])
    x, m = src.take(np.array([2, 0, 1]))
    np.testing.assert_array_equal(x, X[[3, 5, 0]])
    assert m is None
    assert x.dtype == np.float32
    np.testing.assert_array_equal(np.concatenate([c for c, _ in src.chunks(2)]), X[[5, 0, 3]])
    with pytest.raises(ValueError, match="X must be a 2-D array"):
        ArraySource(X[0])
    with pytest.raises(ValueError, match="mask must have the shape of X"):
        ArraySource(X, np.ones((6, 3)))


def test_release_pages(memmap, tmp_path):
    X, mm = memmap
    assert release_pages(mm) and release_pages(mm[10:20])
    assert not release_pages(X)
    assert not release_pages(np.load(tmp_path / "x.npy", mmap_mode="c"))  # would lose private changes
    np.testing.assert_array_equal(mm, X)  # still readable after release


@pytest.mark.parametrize("view", ["c", "fortran", "columns"])
def test_row_blocks_read_a_memmap_in_its_dtype_without_keeping_its_pages(tmp_path, view):
    """Positioned reads of a C-ordered file (or a slice of its columns, rows apart in the file), a copy of a block
    of a Fortran-ordered one with its pages handed back: the rows in the file's dtype, exactly."""
    from aekit._memmap_io import row_blocks

    X = (np.arange(50 * 6, dtype=np.int64) * 2**40 + 1).reshape(50, 6)  # not exact in float32 or float64
    np.save(tmp_path / "x.npy", np.asfortranarray(X) if view == "fortran" else X)
    mm = np.load(tmp_path / "x.npy", mmap_mode="r")
    a, expected = (mm[:, 1:4], X[:, 1:4]) if view == "columns" else (mm, X)
    blocks = list(row_blocks(a, rows=7))
    assert [len(b) for b in blocks] == [7] * 7 + [1]
    assert all(type(b) is np.ndarray and b.dtype == np.int64 for b in blocks)
    np.testing.assert_array_equal(np.concatenate(blocks), expected)
    assert [len(b) for b in row_blocks(X, rows=20)] == [20, 20, 10]


def test_bce_range_is_checked_on_the_stream(tmp_path):
    np.save(tmp_path / "two.npy", np.full((4, 9), 2.0, dtype=np.float32))
    with pytest.raises(ValueError, match=r"loss='bce' needs X in \[0, 1\]; X has values in \[2, 2\]"):
        _estimator(loss="bce").fit(np.load(tmp_path / "two.npy", mmap_mode="r"))


def test_prefetch_order_errors_and_early_close():
    assert list(prefetch(range(5), depth=2)) == list(range(5))
    assert list(prefetch(range(5), depth=0)) == list(range(5))

    def broken():
        yield 1
        raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError, match="disk on fire"):
        list(prefetch(broken()))
    gen = prefetch(iter(range(10**6)), depth=1)
    assert next(gen) == 0
    gen.close()
    assert not any(t.name == "aekit-prefetch" and t.is_alive() for t in threading.enumerate())


def test_peak_memory_is_bounded_by_the_batch_not_the_file(tmp_path):
    """Stream a 192 MiB memmap in a fresh process: peak resident memory grows by far less than the file."""
    path = tmp_path / "big.npy"
    rows, cols = 65536, 768
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(rows, cols))
    for start in range(0, rows, 4096):
        out[start:start + 4096] = np.random.default_rng(start).random((4096, cols), dtype=np.float32)
    out.flush()
    del out
    script = textwrap.dedent(f"""
        import json, os, resource, numpy as np, torch
        import aekit.streaming
        from aekit import Autoencoder
        if os.environ.get("AEKIT_TEST_READ_THROUGH_MAPPING"):  # negative control: the test must then fail
            aekit.streaming._file_rows = lambda a: None
            aekit.streaming.RELEASE_BYTES = 2**60
        torch.set_num_threads(1)
        X = np.load({str(path)!r}, mmap_mode="r")
        Autoencoder(n_components=4, hidden_layer_sizes=(), max_epochs=1, batch_size=256, random_state=0,
                    validation_fraction=0.0, device="cpu").fit(X[:512])  # warm up allocator and kernels
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        est = Autoencoder(n_components=4, hidden_layer_sizes=(), max_epochs=1, batch_size=256, random_state=0,
                          validation_fraction=0.1, device="cpu").fit(X)
        after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(json.dumps({{"before_kb": before, "after_kb": after, "loss": est.loss_curve_[-1]}}))
    """)
    # ru_maxrss survives exec: a child forked from pytest would start at pytest's RSS. "; exit" makes the
    # small shell fork the child, so its ru_maxrss is its own.
    proc = subprocess.run(["/bin/sh", "-c", '"$0" -c "$1"; exit $?', sys.executable, script], capture_output=True,
                          text=True, timeout=120,
                          env={"PYTHONPATH": SRC, "PATH": "/usr/bin:/bin", "OMP_NUM_THREADS": "1",
                               **{k: v for k, v in os.environ.items() if k.startswith("AEKIT_TEST_")}})
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    growth_mb = (report["after_kb"] - report["before_kb"]) / 1024
    file_mb = path.stat().st_size / 2**20
    assert growth_mb < file_mb / 4, report


def test_memmap_fit_checkpoints_and_resumes_like_in_memory(memmap, tmp_path, monkeypatch):
    from aekit.checkpoint import TrainingInterrupted

    X, mm = memmap
    full = _estimator(max_epochs=4).fit(X)
    original = Trainer._early_stopping

    def stop_after_epoch_2(self, value, keep_best):  # as a SIGTERM would, at the end of epoch 2
        if self.epoch == 2:
            raise TrainingInterrupted(15, 2, tmp_path)
        return original(self, value, keep_best)

    monkeypatch.setattr(Trainer, "_early_stopping", stop_after_epoch_2)
    with pytest.raises(TrainingInterrupted):
        _estimator(max_epochs=4).fit(mm, checkpoint_dir=tmp_path / "ck", checkpoint_every=1)
    monkeypatch.setattr(Trainer, "_early_stopping", original)
    resumed = _estimator(max_epochs=4).fit(mm, checkpoint_dir=tmp_path / "ck", resume=True)
    assert resumed.n_iter_ == 4 and resumed.loss_curve_ == full.loss_curve_
    with pytest.raises(ValueError, match="checkpoint_dir needs array data"):
        _estimator().fit(Batches([X]), checkpoint_dir=tmp_path / "other")


def test_subclasses_with_their_own_fit_take_memmaps_but_not_iterables(memmap):
    from aekit import SparseAutoencoder

    X, mm = memmap
    kw = dict(n_components=3, max_epochs=2, random_state=0, device="cpu")
    a, b = SparseAutoencoder(**kw).fit(X), SparseAutoencoder(**kw).fit(mm)
    assert a.loss_curve_ == b.loss_curve_
    with pytest.raises(TypeError, match="SparseAutoencoder cannot train from Batches"):
        SparseAutoencoder(**kw).fit(Batches([X]))


def test_inference_on_a_memmap_equals_in_memory_and_checks_every_block(memmap, tmp_path, monkeypatch):
    """transform / reconstruct / score read a memory map block by block, with the in-memory results."""
    import aekit._inference as inference

    X, mm = memmap
    est = _estimator().fit(X)
    monkeypatch.setattr(inference, "INFERENCE_BATCH", 40)  # 4 blocks, the last one short
    np.testing.assert_array_equal(est.transform(mm), est.transform(X))
    np.testing.assert_array_equal(est.reconstruct(mm), est.reconstruct(X))
    assert est.score(mm) == pytest.approx(est.score(X), rel=1e-6)
    bad = X.copy()
    bad[130, 3] = np.nan  # in the last block: found although only the first rows are validated up front
    np.save(tmp_path / "bad.npy", bad)
    with pytest.raises(ValueError, match="NaN or infinity"):
        est.score(np.load(tmp_path / "bad.npy", mmap_mode="r"))
    np.save(tmp_path / "wide.npy", np.zeros((5, X.shape[1] + 1), dtype=np.float32))
    with pytest.raises(ValueError, match="features"):
        est.transform(np.load(tmp_path / "wide.npy", mmap_mode="r"))


def test_bce_range_is_checked_on_the_first_batch_of_an_iterable():
    rng = np.random.default_rng(0)
    batches = [rng.random((16, 6)).astype(np.float32) * 255 for _ in range(3)]  # pixels not divided by 255
    with pytest.raises(ValueError, match=r"loss='bce' needs X in \[0, 1\]; the first batch of X has values in"):
        Autoencoder(2, loss="bce", hidden_layer_sizes=(4,), max_epochs=1).fit(Batches(batches))
    tensors = [torch.from_numpy(b / 255) for b in batches]  # scaled, as tensors: trains
    assert Autoencoder(2, loss="bce", hidden_layer_sizes=(4,), max_epochs=1).fit(Batches(tensors)).n_iter_ == 1


def test_a_subset_of_a_subset_reads_the_rows_of_the_first_subset():
    X = np.arange(20.0).reshape(10, 2)
    source = ArraySource(X, indices=[4, 1, 5, 8]).subset([2, 0, 3])  # positions in the first subset: rows 5, 4, 8
    x, _ = source.take([0, 1, 2], dtype=np.float64)
    np.testing.assert_array_equal(x, X[[5, 4, 8]])
    np.testing.assert_array_equal(np.concatenate([c for c, _ in source.chunks(2, dtype=np.float64)]), X[[5, 4, 8]])


def test_empty_batches_are_skipped():
    # an empty first batch failed fit with sklearn's "Found array with 0 sample(s)"; an empty later one was an
    # optimiser step on nothing (Adam moved the weights on its moments), so the fit differed from one without it
    X = _X()
    curves = [_estimator(lr_schedule="cosine").fit(Batches(batches)).loss_curve_
              for batches in ([X[:80], X[80:]], [X[:0], X[:80], X[80:]], [X[:80], X[:0], X[80:], X[:0]])]
    np.testing.assert_array_equal(curves[1], curves[0])
    np.testing.assert_array_equal(curves[2], curves[0])
    with pytest.raises(ValueError, match=r"loss='bce' needs X in \[0, 1\]; the first batch of X"):
        Autoencoder(2, loss="bce", hidden_layer_sizes=(4,), max_epochs=1).fit(Batches([X[:0], X * 255]))
    with pytest.raises(ValueError, match="batches is empty: it yielded no batch with rows"):
        Batches([X[:0], X[:0]])


def test_validation_without_rows_is_refused():
    # an empty array was dropped silently (early stopping on the training loss), and an iterable of empty
    # batches scored 0.0 every epoch, which stopped training after n_iter_no_change epochs
    X = _X()
    with pytest.raises(ValueError, match="validation has no rows"):
        Batches([X], validation=X[:0])
    with pytest.raises(ValueError, match="validation: batches is empty"):
        Batches([X], validation=[X[:0]])
    with pytest.raises(ValueError, match="validation: batches is empty"):
        Batches([X], validation=lambda: iter([]))


def test_a_copy_on_write_memmap_is_read_with_its_changes(tmp_path):
    # np.load(mmap_mode="c") then X /= 255: the rows were read from the file with positioned reads, so fit,
    # the bce range check and transform saw the old 0..255 values (transform was off by 200)
    X = _X()
    np.save(tmp_path / "x.npy", X * 255)
    m = np.load(tmp_path / "x.npy", mmap_mode="c")
    m /= 255
    in_memory = np.array(m)
    streamed, loaded = _estimator(loss="bce").fit(m), _estimator(loss="bce").fit(in_memory)
    np.testing.assert_array_equal(streamed.loss_curve_, loaded.loss_curve_)
    np.testing.assert_allclose(loaded.transform(m[10:]), loaded.transform(in_memory[10:]), atol=1e-6)
    assert loaded.score(m) == pytest.approx(loaded.score(in_memory), rel=1e-6)


def test_a_memmap_whose_file_was_unlinked_is_read_through_its_mapping(tmp_path):
    # map a scratch file, then unlink it (it goes when the map does): numpy reads it, but fit and transform
    # opened the path for positioned reads and failed with FileNotFoundError
    X = _X()
    m = np.lib.format.open_memmap(tmp_path / "scratch.npy", mode="w+", dtype=np.float32, shape=X.shape)
    m[:] = X
    (tmp_path / "scratch.npy").unlink()
    streamed, loaded = _estimator().fit(m), _estimator().fit(X)
    np.testing.assert_array_equal(streamed.loss_curve_, loaded.loss_curve_)
    np.testing.assert_allclose(loaded.transform(m), loaded.transform(X), atol=1e-6)


def test_validation_given_as_a_list_of_rows_is_one_array():
    # the README: "a bare list is read as one array"; list(X_val) (1-D rows) was taken for batches, and
    # failed with "validation: batch 0 must be 2-D (batch_size, n_features); got shape (9,)"
    X = _X()
    for rows in (list(X[:20]), [torch.from_numpy(x) for x in X[:20]], X[:20].tolist()):
        validation = Batches([X], validation=rows).validation
        assert isinstance(validation, np.ndarray)
        np.testing.assert_array_equal(validation, X[:20])
    assert isinstance(Batches([X], validation=[X[:10], X[10:20]]).validation, Batches)  # 2-D arrays: batches


@pytest.mark.parametrize("loss, scaling", [("mse", "none"), ("bce", "none"), ("mse", "standard")])
def test_bfloat16_tensor_batches_train_like_their_float32_values(loss, scaling):
    # np.asarray of a bfloat16 tensor raises ("Got unsupported ScalarType BFloat16"): the first-batch check,
    # the bce range check and the streamed column statistics all stopped there, before training
    X = torch.from_numpy(_X()).clamp(0, 1).to(torch.bfloat16)
    kw = dict(loss=loss, scaling=scaling)
    got = _estimator(**kw).fit(Batches([X[:80], X[80:]]))
    want = _estimator(**kw).fit(Batches([X[:80].float(), X[80:].float()]))
    np.testing.assert_array_equal(got.loss_curve_, want.loss_curve_)
    if scaling != "none":
        np.testing.assert_array_equal(got.center_, want.center_)


@pytest.mark.parametrize("make", [lambda X: (b for b in (X[:64], X[64:])), lambda X: iter([X[:64], X[64:]]),
                                  lambda X: map(np.asarray, [X[:64], X[64:]])])
def test_an_iterator_of_batches_says_to_wrap_a_function_in_batches(make):
    # fit(generator) failed inside numpy: "float() argument must be a string or a real number, not 'generator'"
    X = _X()
    with pytest.raises(TypeError, match=r"X is an iterator \(\w+\), which can be read only once.*"
                                        r"Batches\(lambda: \.\.\.\)"):
        _estimator().fit(make(X))
    with pytest.raises(TypeError, match=r"X is an iterator"):
        _estimator().fit(X).transform(make(X))
