"""Large inputs outside the training step: results as the straightforward path gives them, memory bounded by a block.

The performance hunt's fixes (numbers in its report): patch reassembly without a Python loop per patch, patches
gathered a band at a time, scaled inference without float64 copies of the whole of X.
"""

import tracemalloc

import numpy as np
import pytest

from aekit import DenoisingAutoencoder
from aekit._patches import _CHUNK, _window
from aekit.images import average_patches, denoise_image, extract_patches


def _slow_average(patches, positions, image_shape, patch_shape):
    """The per-patch loop that average_patches used to run, as the oracle."""
    ph, pw = patch_shape
    shape = tuple(image_shape) + ((1,) if len(image_shape) == 2 else ())
    total, weight, w = np.zeros(shape), np.zeros(shape[:2]), _window(ph, pw)
    for patch, (r, k) in zip(np.asarray(patches, dtype=np.float64).reshape(-1, ph, pw, shape[2]), positions):
        total[r:r + ph, k:k + pw] += patch * w[:, :, None]
        weight[r:r + ph, k:k + pw] += w
    out = total / np.maximum(weight, 1e-12)[:, :, None]
    return out[:, :, 0] if len(image_shape) == 2 else out


@pytest.mark.parametrize("image_shape", [(70, 53), (41, 66, 3)])
def test_average_patches_matches_the_per_patch_loop(image_shape):
    rng = np.random.default_rng(0)
    n = 2 * _CHUNK + 17  # several blocks, the last one partial
    positions = np.stack([rng.integers(0, image_shape[0] - 5 + 1, n), rng.integers(0, image_shape[1] - 7 + 1, n)],
                         axis=1)  # any order, overlapping, repeated
    patches = rng.random((n, 5 * 7 * (image_shape[2] if len(image_shape) == 3 else 1))).astype(np.float32)
    got = average_patches(patches, positions, image_shape, (5, 7))
    np.testing.assert_allclose(got, _slow_average(patches, positions, image_shape, (5, 7)), rtol=1e-12, atol=0)


@pytest.mark.parametrize("image", [np.arange(30.0).reshape(5, 6), np.random.default_rng(1).random((23, 19, 3))])
def test_average_of_extracted_patches_is_the_image(image):
    patches, positions = extract_patches(image, (4, 3), stride=2)
    np.testing.assert_allclose(average_patches(patches, positions, image.shape, (4, 3)), image, rtol=1e-12)


def test_average_patches_makes_no_float64_copy_of_all_patches():
    rng = np.random.default_rng(0)
    patches, positions = extract_patches(rng.random((300, 300)).astype(np.float32), (8, 8), stride=1)
    tracemalloc.start()
    average_patches(patches, positions, (300, 300), (8, 8))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < patches.nbytes  # a float64 copy of them all is twice this


def test_denoise_image_does_not_hold_all_patches():
    rng = np.random.default_rng(0)
    model = DenoisingAutoencoder(image_shape=(8, 8), n_components=4, hidden_layer_sizes=(8,), max_epochs=1,
                                 random_state=0).fit(rng.random((200, 64)).astype(np.float32))
    image = rng.random((1024, 1024)).astype(np.float32)
    all_patches = (((1024 - 8) // 2 + 1) ** 2) * 64 * 4  # bytes of every patch at the default stride 2
    tracemalloc.start()
    out = denoise_image(model, image)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert out.shape == image.shape and np.isfinite(out).all()
    assert peak < 0.75 * all_patches  # the accumulators and the result are a fixed multiple of the image


def _traced_peak(fn):
    tracemalloc.start()
    try:
        out = fn()
        return out, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.fixture(scope="module")
def scaled_model_and_data():
    from aekit import Autoencoder

    rng = np.random.default_rng(0)
    X = (rng.random((100_000, 50)) * 100 + 1e4).astype(np.float32)
    model = Autoencoder(n_components=2, hidden_layer_sizes=(4,), max_epochs=1, scaling="standard",
                        random_state=0).fit(X[:500])
    return model, X


def test_scaled_inference_equals_scaling_whole_x_first(scaled_model_and_data):
    import torch

    model, X = scaled_model_and_data
    X = X[:20_000]
    seen = ((X - model.center_) / model.scale_).astype(np.float32)
    with torch.inference_mode():
        codes = model.net_.encode(torch.from_numpy(seen)).numpy()
        out = model.net_(torch.from_numpy(seen)).numpy()
    np.testing.assert_array_equal(model.transform(X), codes)
    np.testing.assert_array_equal(model.reconstruct(X), (out * model.scale_ + model.center_).astype(np.float32))
    np.testing.assert_array_equal(model.inverse_transform(codes), model.reconstruct(X))


def test_scaled_inference_makes_no_float64_copy_of_x(scaled_model_and_data):
    model, X = scaled_model_and_data
    _, peak = _traced_peak(lambda: model.transform(X))
    assert peak < X.nbytes  # (X - center_) / scale_ of the whole of X was two float64 copies (4 times X)
    out, peak = _traced_peak(lambda: model.reconstruct(X))
    assert peak < out.nbytes * 1.75  # the output, and a few blocks


@pytest.mark.parametrize("kind", ["standard", "minmax"])
def test_column_scaling_in_blocks_equals_whole_array_statistics(kind):
    from aekit._scaling import column_scaling

    rng = np.random.default_rng(0)
    X = (rng.random((3001, 129)) * 1e3 + 1e4).astype(np.float32)  # 2 blocks of 64 and a lone column
    X[rng.random(X.shape) < 0.1] = np.nan
    X64 = X.astype(np.float64)
    if kind == "standard":
        expected = np.nanmean(X64, axis=0), np.nanstd(X64, axis=0)
    else:
        expected = np.nanmin(X64, axis=0), np.nanmax(X64, axis=0) - np.nanmin(X64, axis=0)
    for got, want in zip(column_scaling(X, kind), expected):
        np.testing.assert_array_equal(got, want)
        assert got.dtype == np.float64


def test_fit_scaling_holds_no_float64_copy_of_x():
    import types

    from aekit._scaling import fit_scaling

    X = np.random.default_rng(0).random((100_000, 200), dtype=np.float32)
    for kind in ("standard", "minmax"):
        seen, peak = _traced_peak(lambda: fit_scaling(types.SimpleNamespace(scaling=kind), X, keep=False))
        assert seen.dtype == np.float32 and seen.shape == X.shape
        assert peak < 1.75 * X.nbytes  # its float32 result, and blocks; float64 X alone was twice X


@pytest.fixture(scope="module")
def pair():
    rng = np.random.default_rng(0)
    X = rng.random((100_000, 100), dtype=np.float32)
    return X, (X + rng.normal(0, 0.1, X.shape)).astype(np.float32)


def test_squared_error_metrics_equal_the_whole_array_formulas(pair):
    from aekit.metrics import mean_squared_error, psnr, squared_error_per_sample

    X, X_hat = pair
    diff2 = (X.astype(np.float64) - X_hat.astype(np.float64)) ** 2
    assert squared_error_per_sample(X, X_hat) == float(diff2.sum(axis=1).mean())
    assert psnr(X, X_hat) == float((10.0 * np.log10(1.0 / diff2.mean(axis=1))).mean())
    assert mean_squared_error(X, X_hat) == pytest.approx(float(diff2.mean()), rel=1e-12)
    assert squared_error_per_sample(X.tolist()[:3], X_hat[:3]) == float(diff2[:3].sum(axis=1).mean())  # lists too


@pytest.mark.parametrize("name", ["squared_error_per_sample", "mean_squared_error", "psnr"])
def test_squared_error_metrics_hold_no_float64_copy(pair, name):
    import aekit.metrics

    X, X_hat = pair
    _, peak = _traced_peak(lambda: getattr(aekit.metrics, name)(X, X_hat))
    assert peak < X.nbytes  # float64 copies of both and their difference were 6 times X


def test_evaluate_holds_no_float64_copy_of_x():
    from aekit import Autoencoder
    from aekit.evaluation import evaluate

    X = np.random.default_rng(0).random((40_000, 100), dtype=np.float32)
    model = Autoencoder(n_components=2, hidden_layer_sizes=(4,), max_epochs=1, random_state=0).fit(X[:500])
    result, peak = _traced_peak(lambda: evaluate(model, X))
    assert result["error_per_sample"] == -model.score(X) and result["psnr_db"] > 0
    assert peak < 2 * X.nbytes  # the reconstruction, and blocks (was 7 times X)


def test_evaluate_of_a_scaled_model_holds_neither_scaled_x_nor_its_reconstruction():
    from aekit import Autoencoder
    from aekit.evaluation import evaluate

    X = np.random.default_rng(0).random((100_000, 50)) * 50 + 1e3  # float64, far from 0: what scaling is for
    model = Autoencoder(n_components=2, hidden_layer_sizes=(4,), max_epochs=1, random_state=0,
                        scaling="standard").fit(X[:500])
    result, peak = _traced_peak(lambda: evaluate(model, X))
    assert result["error_per_sample"] == pytest.approx(-model.score(X), rel=1e-9) and "psnr_db" not in result
    assert peak < 0.5 * X.nbytes  # blocks (X scaled in float64, then in float32, and the outputs: twice X)


@pytest.fixture(scope="module")
def codes():
    rng = np.random.default_rng(0)
    H = np.maximum(rng.standard_normal((30_000, 300)), 0).astype(np.float32)
    H[:, 7] = 0.0  # a dead unit
    H[0, :3] = [np.inf, -np.inf, np.nan]
    return H


def test_code_statistics_in_blocks_equals_whole_matrix_statistics(codes):
    from aekit.metrics import code_statistics

    H = np.nan_to_num(codes, nan=0.0, posinf=5.0, neginf=-5.0)
    H64 = H.astype(np.float64)
    active = np.abs(H64) > 0.1
    got = code_statistics(H, threshold=0.1)
    assert got["active_fraction"] == float(active.mean(axis=1).mean())
    assert got["dead_units"] == int((~active.any(axis=0)).sum()) >= 1
    assert got["mean_abs"] == pytest.approx(float(np.abs(H64).mean()), rel=1e-12)
    assert got["mean_activation"] == pytest.approx(float(H64.mean()), rel=1e-12)
    _, peak = _traced_peak(lambda: code_statistics(H, threshold=0.1))
    assert peak < H.nbytes  # a float64 copy and |H| were 4 times H


def test_activation_histogram_counts_every_finite_value_without_copying_them(codes):
    from aekit.plotting import activation_histogram

    values = codes.astype(np.float64).ravel()
    finite = values[np.isfinite(values)]
    fig, peak = _traced_peak(lambda: activation_histogram(codes, bins=40, threshold=0.1))
    ax = fig.axes[0]
    counts, edges = np.histogram(finite, bins=40)
    np.testing.assert_array_equal([p.get_height() for p in ax.patches], counts)
    np.testing.assert_allclose([p.get_x() for p in ax.patches], edges[:-1], rtol=1e-12)
    assert f"of {finite.size} values" in ax.texts[0].get_text() and "2 non-finite" not in ax.texts[0].get_text()
    assert "3 non-finite values not shown" in ax.texts[0].get_text()
    assert peak < codes.nbytes  # float64 copies of all values and of the finite ones were 4 times H


@pytest.mark.parametrize("architecture", ["conv", "unet"])
def test_convolutional_inference_blocks_are_sized_by_activations(monkeypatch, architecture):
    import torch

    import aekit._inference
    from aekit import Autoencoder, DenoisingAutoencoder

    rng = np.random.default_rng(0)
    X = rng.random((300, 12 * 12), dtype=np.float32)
    cls = DenoisingAutoencoder if architecture == "unet" else Autoencoder
    model = cls(image_shape=(12, 12), architecture=architecture, hidden_layer_sizes=(4, 8), n_components=3,
                max_epochs=1, random_state=0).fit(X[:64])
    expected = model.reconstruct(X)
    # 8192 28x28 images through a 32-channel U-Net held 9 GiB: a block's widest activation is bounded instead
    monkeypatch.setattr(aekit._inference, "INFERENCE_ELEMENTS", 12 * 12 * 8 * 50)
    seen = []
    first_conv = next(m for m in model.net_.modules() if isinstance(m, torch.nn.Conv2d))
    handle = first_conv.register_forward_pre_hook(lambda module, args: seen.append(args[0].shape[0]))
    try:
        got = model.reconstruct(X)
        model.score_samples(X)
    finally:
        handle.remove()
    assert 1 < max(seen) <= 50 and sum(seen) == 2 * len(X)  # every row, a few at a time
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("dtype", [np.uint8, np.int64, np.float32, np.float64])
def test_evaluate_takes_any_real_dtype(dtype):
    from aekit import Autoencoder
    from aekit.evaluation import evaluate

    X = (np.random.default_rng(0).random((200, 16)) > 0.5).astype(dtype)  # 0/1 entries: in [0, 1]
    model = Autoencoder(n_components=2, hidden_layer_sizes=(4,), max_epochs=1, random_state=0).fit(X)
    result = evaluate(model, X)
    assert result["error_per_sample"] == pytest.approx(-model.score(X), rel=1e-6) and "psnr_db" in result
    assert "psnr_db" not in evaluate(model, (X * 2).astype(dtype))  # entries of 2: not images in [0, 1]


@pytest.mark.parametrize("corner", [(0, 4), (3, 0), (-1, 0)])
def test_average_patches_refuses_a_patch_outside_the_image(corner):
    with pytest.raises(ValueError, match=r"a 3x3 patch at \(-?\d, \d\) reaches outside the 5x6 image"):
        average_patches(np.ones((2, 9)), [(0, 0), corner], (5, 6), (3, 3))


def test_float64_input_is_cast_a_block_at_a_time():
    from aekit import Autoencoder

    X = np.random.default_rng(0).random((60_000, 50))  # float64, C-ordered
    model = Autoencoder(n_components=2, hidden_layer_sizes=(4,), max_epochs=1, random_state=0).fit(X[:500])
    X32 = X.astype(np.float32)
    codes, peak = _traced_peak(lambda: model.transform(X))
    assert peak < X32.nbytes / 2  # a float32 copy of the whole of X was made first
    np.testing.assert_array_equal(codes, model.transform(X32))
    np.testing.assert_array_equal(model.score_samples(X), model.score_samples(X32))
    np.testing.assert_array_equal(model.reconstruct(np.asfortranarray(X)), model.reconstruct(X32))


@pytest.mark.parametrize("layout", ["uint8", "int64", "bool", "fortran_float32", "fortran_float64"])
def test_inputs_of_other_dtypes_and_orders_are_cast_a_block_at_a_time(layout):
    # an image's uint8 rows or a Fortran-ordered array (a DataFrame's .values, X.T.T) were copied whole to
    # C-ordered float32 before the first block went through the network
    from aekit import Autoencoder

    rng = np.random.default_rng(0)
    X32 = (rng.random((60_000, 50)) < 0.5).astype(np.float32) if layout == "bool" else \
        rng.integers(0, 256, (60_000, 50)).astype(np.float32)
    X = {"uint8": X32.astype(np.uint8), "int64": X32.astype(np.int64), "bool": X32.astype(bool),
         "fortran_float32": np.asfortranarray(X32), "fortran_float64": np.asfortranarray(X32, dtype=np.float64)}[layout]
    model = Autoencoder(n_components=2, hidden_layer_sizes=(4,), max_epochs=1, random_state=0).fit(X32[:500])
    codes, peak = _traced_peak(lambda: model.transform(X))
    assert peak < X32.nbytes / 2
    _, peak = _traced_peak(lambda: model.score_samples(X))
    assert peak < X32.nbytes / 2
    np.testing.assert_array_equal(codes, model.transform(X32))
    np.testing.assert_array_equal(model.score_samples(X), model.score_samples(X32))
    np.testing.assert_array_equal(model.reconstruct(X), model.reconstruct(X32))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_a_fortran_ordered_input_with_nan_or_infinity_is_refused_as_a_c_ordered_one(dtype, bad):
    from aekit import Autoencoder

    X = np.random.default_rng(0).random((100, 5)).astype(dtype)
    model = Autoencoder(n_components=2, hidden_layer_sizes=(4,), max_epochs=1, random_state=0).fit(X)
    X[50, 3] = bad
    with pytest.raises(ValueError) as c_ordered:
        model.transform(X)
    with pytest.raises(ValueError) as fortran:
        model.transform(np.asfortranarray(X))
    assert str(fortran.value) == str(c_ordered.value)


def test_imputer_transform_fills_a_block_of_rows_at_a_time_with_the_same_values():
    # without refinement each row is filled on its own; all rows at once held several float copies of X
    import tracemalloc

    from aekit import AutoencoderImputer
    from aekit.impute import _fill

    rng = np.random.default_rng(0)
    X = rng.normal(size=(100_000, 40))
    imputer = AutoencoderImputer(4, hidden_layer_sizes=(16,), max_epochs=1, random_state=0, device="cpu")
    imputer.fit(np.where(rng.random(X.shape) < 0.2, np.nan, X)[:2000])
    X[rng.random(X.shape) < 0.2] = np.nan
    tracemalloc.start()
    try:
        got = imputer.transform(X)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    missing = np.isnan(X)
    rows = missing.any(axis=1)
    whole = _fill(lambda A: imputer._apply(imputer.net_, A), imputer._scaled(X[rows]), missing[rows])
    expected = X.copy()
    expected[rows] = np.where(missing[rows], whole * imputer.scale_ + imputer.center_, X[rows])
    np.testing.assert_array_equal(got, expected)  # the same blocks reach the network: the same values
    assert peak < 2.5 * X.nbytes, peak / X.nbytes  # the output, a validated copy, the mask: not five copies


@pytest.mark.filterwarnings("ignore:X has feature names, but AutoencoderImputer was fitted without")
@pytest.mark.parametrize("layout", ["float16", "mixed_dataframe", "float64", "fortran", "dataframe"])
def test_imputer_transform_fills_the_copy_validation_made(layout):
    # X that validation converts (float16 to float64, a DataFrame of float and integer columns) was copied again
    # for the output: two arrays of X's size. X that validation passes on (float64, a DataFrame of one dtype) is
    # the caller's and must be left alone
    import pandas as pd

    from aekit import AutoencoderImputer

    rng = np.random.default_rng(0)
    X = rng.integers(0, 5, size=(60_000, 40)).astype(np.float64)
    X[:, :20][rng.random((60_000, 20)) < 0.2] = np.nan
    imputer = AutoencoderImputer(4, hidden_layer_sizes=(16,), max_epochs=1, random_state=0, device="cpu").fit(X[:2000])
    frame = pd.DataFrame(X, columns=[f"c{i}" for i in range(40)])
    if layout == "mixed_dataframe":
        frame = frame.astype({f"c{i}": np.int64 for i in range(20, 40)})
    given = {"float16": X.astype(np.float16), "float64": X, "fortran": np.asfortranarray(X)}.get(layout, frame)
    kept = np.array(given, copy=True)
    got, peak = _traced_peak(lambda: imputer.transform(given))
    np.testing.assert_array_equal(got, imputer.transform(X))
    np.testing.assert_array_equal(np.asarray(given), kept)  # the caller's data are left alone
    assert np.isnan(np.asarray(given, dtype=np.float64)).any()
    if layout in ("float16", "mixed_dataframe"):
        # the output (the validated copy), the mask and a few blocks' temporaries: 1.65 times, 2.7 with the copy
        assert peak < 2 * got.nbytes, peak / got.nbytes


def test_imputer_refinement_fills_a_block_of_rows_at_a_time_seeded():
    # refinement drew its noise over all rows at once and held about five float copies of X; one generator now
    # goes on from block to block: rows that fit in one block get exactly the draws they got before
    import torch

    from aekit import AutoencoderImputer
    from aekit._inference import INFERENCE_BATCH
    from aekit.impute import _fill

    rng = np.random.default_rng(0)
    X = rng.normal(size=(60_000, 40))
    imputer = AutoencoderImputer(4, hidden_layer_sizes=(16,), max_epochs=1, random_state=3, device="cpu", max_iter=1)
    imputer.fit(np.where(rng.random(X.shape) < 0.2, np.nan, X)[:2000])
    X[rng.random(X.shape) < 0.2] = np.nan
    got, peak = _traced_peak(lambda: imputer.transform(X))
    assert peak < 2.5 * X.nbytes, peak / X.nbytes
    np.testing.assert_array_equal(got, imputer.transform(X))  # seeded
    missing = np.isnan(X)
    rows = np.flatnonzero(missing.any(axis=1))
    first = rows[:INFERENCE_BATCH]  # the first block, filled as if it were all there was
    alone = _fill(lambda A: imputer._apply(imputer.net_, A), imputer._scaled(X[first]), missing[first], 1,
                  imputer._recorruption(missing[rows]), torch.Generator().manual_seed(3))
    np.testing.assert_array_equal(got[first], np.where(missing[first], alone * imputer.scale_ + imputer.center_,
                                                       X[first]))
    assert not np.isnan(got).any()
    np.testing.assert_array_equal(got[~missing], X[~missing])
