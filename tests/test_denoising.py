import numpy as np
import pytest
import torch
from sklearn.utils.estimator_checks import parametrize_with_checks

from aekit import Autoencoder, DenoisingAutoencoder, load
from aekit.metrics import psnr


SMALL = dict(n_components=2, hidden_layer_sizes=(8,), max_epochs=3, random_state=0, device="cpu")
SUBSET_REASON = (
    "score_samples sums the squared errors of a float32 network's outputs: rows computed in batches of different "
    "sizes differ by float32 ulps, which the sum carries just above the check's tolerance of 1e-7 (measured "
    "1.7e-7); test_base.py::test_methods_are_subset_invariant_to_float32_precision checks it at 1e-5")


@parametrize_with_checks(
    [DenoisingAutoencoder(**SMALL), DenoisingAutoencoder(corruption="salt_and_pepper", corruption_level=0.2, **SMALL),
     DenoisingAutoencoder(corruption="masking", corruption_level=0.3, random_level=True, level_power=2.0,
                          **SMALL)],
    expected_failed_checks=lambda est: {"check_methods_subset_invariance": SUBSET_REASON},
)
def test_sklearn_compatible(estimator, check):
    check(estimator)


def bars(n, rng, size=8):
    """Images of one horizontal and one vertical bar at random places, in [0, 1]."""
    X = np.zeros((n, size, size), dtype=np.float32)
    for i in range(n):
        X[i, rng.integers(size), :] = 1.0
        X[i, :, rng.integers(size)] = 1.0
    return X.reshape(n, -1)


@pytest.mark.parametrize("arch", ["mlp", "fully_conv"])
def test_dae_beats_the_noisy_input_on_synthetic_images(arch):
    rng = np.random.default_rng(0)
    X_train, X_test = bars(1000, rng), bars(200, rng)
    sigma = 0.3
    dae = DenoisingAutoencoder(16, hidden_layer_sizes=(64,) if arch == "mlp" else (16,), architecture=arch,
                               image_shape=(8, 8), corruption="gaussian", corruption_level=sigma, max_epochs=8,
                               batch_size=32, learning_rate=3e-3, random_state=0, device="cpu").fit(X_train)
    noisy = X_test + sigma * rng.standard_normal(X_test.shape).astype(np.float32)
    before = psnr(X_test, noisy)
    after = psnr(X_test, np.clip(dae.denoise(noisy), 0, 1))
    assert after > before + 3.0, (before, after)


def test_denoise_is_deterministic_reconstruction():
    X = np.random.default_rng(0).random((100, 10))
    dae = DenoisingAutoencoder(**{**SMALL, "max_epochs": 2}, corruption_level=0.5).fit(X)
    np.testing.assert_array_equal(dae.denoise(X), dae.denoise(X))
    np.testing.assert_array_equal(dae.denoise(X), dae.reconstruct(X))


def test_corruption_changes_training_but_level_zero_is_a_plain_autoencoder():
    X = np.random.default_rng(0).random((100, 10))
    plain = Autoencoder(**SMALL).fit(X)
    zero = DenoisingAutoencoder(**SMALL, corruption_level=0.0).fit(X)
    noisy = DenoisingAutoencoder(**SMALL, corruption_level=0.5).fit(X)
    np.testing.assert_allclose(zero.loss_curve_, plain.loss_curve_, rtol=1e-6)
    assert not np.allclose(noisy.loss_curve_, plain.loss_curve_)


def test_salt_and_pepper_uses_the_range_of_the_training_data():
    X = np.random.default_rng(0).uniform(10, 200, size=(60, 10))
    X[0, 0], X[1, 1] = 0.0, 255.0
    dae = DenoisingAutoencoder(**SMALL, corruption="salt_and_pepper", corruption_level=1.0).fit(X)
    corrupt = dae._make_corruption()
    values = set(corrupt(torch.full((1000,), 100.0), torch.Generator().manual_seed(0)).unique().tolist())
    assert values == {0.0, 255.0}


@pytest.mark.parametrize("partial", [False, True])
def test_scaled_salt_and_pepper_uses_each_columns_own_extremes(partial):
    # under scaling, salt and pepper were the extremes over all columns of the scaled X: a column's pepper could
    # lie far below anything it holds; as on unscaled data, pepper is the column's minimum and salt its maximum
    rng = np.random.default_rng(0)
    X = np.column_stack([rng.normal(size=200), rng.exponential(size=200) * 50, rng.uniform(-3, 1, size=200)])
    dae = DenoisingAutoencoder(**SMALL, corruption="salt_and_pepper", corruption_level=1.0, scaling="standard")
    if partial:
        dae.partial_fit(X[:100]).partial_fit(X[100:])  # the statistics of the first call, the extremes of all
    else:
        dae.fit(X)
    scaled = (X - dae.center_) / dae.scale_
    out = dae._make_corruption()(torch.zeros(5000, 3), torch.Generator().manual_seed(0)).numpy()
    for j in range(3):
        np.testing.assert_allclose(np.unique(out[:, j]), [scaled[:, j].min(), scaled[:, j].max()], rtol=1e-6)


def test_save_and_load_keep_class_parameters_and_outputs(tmp_path):
    X = np.random.default_rng(0).random((80, 12))
    dae = DenoisingAutoencoder(**SMALL, corruption="masking", corruption_level=0.4, random_level=True,
                               level_power=2.0).fit(X)
    dae.save(tmp_path / "dae")
    back = load(tmp_path / "dae")
    assert type(back) is DenoisingAutoencoder
    assert back.get_params() == {**dae.get_params(), "hidden_layer_sizes": (8,)}
    np.testing.assert_array_equal(back.denoise(X), dae.denoise(X))


@pytest.mark.parametrize("params, match", [
    ({"corruption": "blur"}, r"corruption must be one of \{'gaussian', 'masking', 'salt_and_pepper'\}; got 'blur'"),
    ({"corruption": "masking", "corruption_level": 1.5}, r"corruption_level for 'masking' must be in \[0, 1\]"),
    ({"corruption_level": -0.1}, r"corruption_level must be >= 0"),
    ({"level_power": 0.0}, r"level_power must be > 0"),
])
def test_bad_corruption_parameters_are_clear_errors(params, match):
    with pytest.raises(ValueError, match=match):
        DenoisingAutoencoder(**SMALL, **params).fit(np.zeros((10, 3)))


def test_level_must_be_a_number():
    with pytest.raises(TypeError, match="corruption_level must be a number"):
        DenoisingAutoencoder(**SMALL, corruption_level="high").fit(np.zeros((10, 3)))


def test_level_power_reaches_the_corruption():
    X = np.zeros((40, 500), dtype=np.float32)
    weak = DenoisingAutoencoder(**SMALL, corruption_level=1.0, random_level=True, level_power=4.0).fit(X[:, :8])
    plain = DenoisingAutoencoder(**SMALL, corruption_level=1.0, random_level=True).fit(X[:, :8])
    g = torch.Generator().manual_seed(0)
    stds = {k: float(d._make_corruption()(torch.zeros(4000, 500), g).std(dim=1).mean())
            for k, d in (("weak", weak), ("plain", plain))}
    assert stds["weak"] == pytest.approx(1 / 5, abs=0.02) and stds["plain"] == pytest.approx(1 / 2, abs=0.02)


def test_level_power_is_a_cli_flag():
    import argparse

    from aekit.cli._flags import add_estimator_arguments, estimator_from_args

    parser = argparse.ArgumentParser()
    add_estimator_arguments(parser, [DenoisingAutoencoder])
    args = parser.parse_args(["--random-level", "--level-power", "2"])
    dae = estimator_from_args(args, "denoising")
    assert (dae.random_level, dae.level_power) == (True, 2.0)
    with pytest.raises(ValueError, match="level_power must be > 0"):
        estimator_from_args(parser.parse_args(["--level-power", "-1"]), "denoising")


# ------------------------------------------------------------ data larger than memory


@pytest.mark.parametrize("corruption", ["gaussian", "salt_and_pepper"])
def test_a_memory_map_streams_and_trains_the_weights_an_array_does(tmp_path, corruption):
    # DenoisingAutoencoder overrode _fit without saying it streams: a memory map was read whole into memory, and
    # the data range of salt and pepper noise was taken on a float64 copy of all of X
    import tracemalloc

    X = np.random.default_rng(0).random((30_000, 60), dtype=np.float32) * 3 - 1
    np.save(tmp_path / "x.npy", X)
    mapped = np.load(tmp_path / "x.npy", mmap_mode="r")
    kw = dict(n_components=3, hidden_layer_sizes=(8,), max_epochs=1, random_state=0, device="cpu",
              corruption=corruption, validation_fraction=0.0)
    DenoisingAutoencoder(**kw).fit(mapped[:64])  # imports and first-call caches outside the measurement
    tracemalloc.start()
    try:
        streamed = DenoisingAutoencoder(**kw).fit(mapped)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < X.nbytes / 2, peak / X.nbytes
    in_memory = DenoisingAutoencoder(**kw).fit(X)
    for a, b in zip(streamed.net_.parameters(), in_memory.net_.parameters()):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    assert ((streamed.data_min_, streamed.data_max_) == (in_memory.data_min_, in_memory.data_max_)
            == (float(X.min()), float(X.max())))


def test_data_range_from_blocks_masks_and_batches_equals_numpy_on_the_whole():
    from aekit.denoising import _EXTREMES_ROWS, _extremes
    from aekit.streaming import Batches

    rng = np.random.default_rng(1)
    X = rng.normal(size=(2 * _EXTREMES_ROWS + 5, 4)).astype(np.float32)
    mask = (rng.random(X.shape) < 0.7).astype(np.float32)
    mask[:, 3] = 0  # a column never observed: (0, 1), as before
    low, high = _extremes(X, mask, by_column=True)
    seen = np.where(mask > 0, X, np.nan)
    np.testing.assert_array_equal(low[:3], np.nanmin(seen[:, :3], axis=0))
    np.testing.assert_array_equal(high[:3], np.nanmax(seen[:, :3], axis=0))
    assert (low[3], high[3]) == (0.0, 1.0)
    assert _extremes(X, mask, by_column=False) == (float(np.nanmin(seen)), float(np.nanmax(seen)))
    batches = Batches([X[:100], torch.from_numpy(X[100:]), X[:0]])
    assert _extremes(batches, None, by_column=False) == (float(X.min()), float(X.max()))
    assert _extremes(X[:0], None, by_column=False) == (0.0, 1.0)


def test_salt_and_pepper_from_an_iterable_of_batches():
    from aekit.streaming import Batches

    X = np.random.default_rng(2).random((256, 10), dtype=np.float32) * 4 + 1
    est = DenoisingAutoencoder(**{**SMALL, "corruption": "salt_and_pepper"}).fit(Batches([X[:128], X[128:]]))
    assert (est.data_min_, est.data_max_) == (float(X.min()), float(X.max())) and est.n_iter_ == 3
