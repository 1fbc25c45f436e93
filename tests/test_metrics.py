import doctest
import math

import numpy as np
import pytest

from aekit import metrics
from aekit.metrics import (
    code_statistics,
    hidden_entry_error,
    hide_observed,
    mean_squared_error,
    psnr,
    rmse_on_mask,
    squared_error_per_sample,
    ssim,
)


@pytest.mark.parametrize("module", ["_errors", "_missing", "_codes"])
def test_docstring_examples_run(module):
    import importlib

    result = doctest.testmod(importlib.import_module(f"aekit.metrics.{module}"))
    assert result.attempted > 0
    assert result.failed == 0


def test_public_functions_are_the_packages():
    assert all(callable(getattr(metrics, name)) for name in metrics.__all__) and len(metrics.__all__) == 9


# ------------------------------------------------------------ squared errors


def test_squared_error_per_sample_known_value():
    assert squared_error_per_sample([[0, 0], [1, 1]], np.zeros((2, 2))) == 1.0


def test_squared_error_per_sample_sums_features_averages_samples():
    X = np.zeros((4, 10))
    X_hat = np.full((4, 10), 0.5)
    # 10 features * 0.25 each, the same for every sample
    assert squared_error_per_sample(X, X_hat) == pytest.approx(2.5)
    assert mean_squared_error(X, X_hat) == pytest.approx(0.25)


def test_squared_error_per_sample_image_shaped_equals_flat():
    rng = np.random.default_rng(0)
    X, X_hat = rng.random((2, 5, 4, 4))
    flat = squared_error_per_sample(X.reshape(5, -1), X_hat.reshape(5, -1))
    assert squared_error_per_sample(X, X_hat) == pytest.approx(flat)


def test_single_sample_as_1d():
    assert squared_error_per_sample([1.0, 2.0], [0.0, 0.0]) == 5.0
    assert mean_squared_error([1.0, 2.0], [0.0, 0.0]) == 2.5


def test_mean_squared_error_known_value():
    assert mean_squared_error([[0, 0], [1, 1]], [[0, 0], [0, 0]]) == 0.5


def test_results_are_python_floats():
    value = squared_error_per_sample(np.ones((2, 2), np.float32), np.zeros((2, 2)))
    assert type(value) is float
    assert type(mean_squared_error([[1.0]], [[0.0]])) is float


@pytest.mark.parametrize("func", [squared_error_per_sample, mean_squared_error])
def test_shape_mismatch_names_both_shapes(func):
    with pytest.raises(ValueError, match=r"X.shape=\(2, 3\).*X_hat.shape=\(3, 2\)"):
        func(np.zeros((2, 3)), np.zeros((3, 2)))


@pytest.mark.parametrize("func", [squared_error_per_sample, mean_squared_error])
def test_empty_input_rejected(func):
    with pytest.raises(ValueError, match="at least one sample"):
        func(np.zeros((0, 3)), np.zeros((0, 3)))


def test_scalar_input_rejected():
    with pytest.raises(ValueError, match="scalars"):
        mean_squared_error(1.0, 2.0)


# ------------------------------------------------------------ psnr


def test_psnr_of_known_mse():
    clean = np.zeros((3, 100))
    estimate = np.full((3, 100), 0.1)  # mse 0.01 per image
    assert psnr(clean, estimate) == pytest.approx(20.0)


def test_psnr_data_range_scales():
    clean = np.zeros((1, 4))
    estimate = np.full((1, 4), 25.5)  # mse 650.25 with range 255
    assert psnr(clean, estimate, data_range=255.0) == pytest.approx(20.0)


def test_psnr_is_mean_of_per_image_values():
    clean = np.zeros((2, 4))
    estimate = np.stack([np.full(4, 0.1), np.full(4, 0.01)])  # 20 dB and 40 dB
    assert psnr(clean, estimate) == pytest.approx(30.0)


@pytest.mark.parametrize("shape", [(2, 16), (2, 4, 4), (2, 4, 4, 3)])
def test_psnr_accepts_flat_and_image_shapes(shape):
    clean = np.zeros(shape)
    assert psnr(clean, clean + 0.1) == pytest.approx(20.0)


def test_psnr_identical_is_inf():
    X = np.random.default_rng(0).random((3, 8))
    assert psnr(X, X) == math.inf


@pytest.mark.parametrize("bad", [0, -1.0, math.nan, math.inf, "1", True])
def test_psnr_rejects_bad_data_range(bad):
    with pytest.raises(ValueError, match="data_range must be"):
        psnr(np.zeros((1, 4)), np.ones((1, 4)), data_range=bad)


def test_psnr_shape_mismatch():
    with pytest.raises(ValueError, match=r"clean.shape=\(1, 4\).*estimate.shape"):
        psnr(np.zeros((1, 4)), np.zeros((1, 5)))


# ------------------------------------------------------------ ssim


@pytest.mark.parametrize("image_shape", [(8, 8), (5, 6), (3, 3), (16, 16, 3)])
def test_ssim_identical_is_one(image_shape):
    rng = np.random.default_rng(0)
    X = rng.random((3, math.prod(image_shape)))
    assert ssim(X, X, image_shape) == pytest.approx(1.0)


def test_ssim_drops_with_noise_and_accepts_image_shaped_input():
    rng = np.random.default_rng(0)
    X = rng.random((4, 8, 8))
    noisy = X + rng.normal(0, 0.3, X.shape)
    value = ssim(X, noisy, (8, 8))
    assert value < 0.9
    assert value == pytest.approx(ssim(X.reshape(4, -1), noisy.reshape(4, -1), (8, 8)))


def test_ssim_single_flat_image():
    x = np.linspace(0, 1, 64)
    assert ssim(x, x, (8, 8)) == pytest.approx(1.0)


def test_ssim_wrong_feature_count():
    with pytest.raises(ValueError, match="needs 64 values per image"):
        ssim(np.zeros((2, 63)), np.zeros((2, 63)), (8, 8))


def test_ssim_too_small_images():
    with pytest.raises(ValueError, match="at least 3x3"):
        ssim(np.zeros((2, 4)), np.zeros((2, 4)), (2, 2))


@pytest.mark.parametrize("bad", [(8,), (8, 8, 3, 1), (0, 8)])
def test_ssim_bad_image_shape(bad):
    with pytest.raises(ValueError, match="image_shape must be"):
        ssim(np.zeros((1, 64)), np.zeros((1, 64)), bad)


def test_ssim_image_shape_not_a_tuple():
    with pytest.raises(TypeError, match="image_shape must be"):
        ssim(np.zeros((1, 64)), np.zeros((1, 64)), 64)


def test_ssim_bad_data_range():
    with pytest.raises(ValueError, match="data_range must be"):
        ssim(np.zeros((1, 64)), np.zeros((1, 64)), (8, 8), data_range=0)


# ------------------------------------------------------------ rmse_on_mask


def test_rmse_on_mask_counts_only_masked_entries():
    X = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    X_hat = X.copy()
    X_hat[0, 1] += 3.0
    X_hat[1, 2] -= 4.0
    X_hat[1, 0] += 100.0  # not masked, must not count
    mask = np.array([[False, True, False], [False, False, True]])
    assert rmse_on_mask(X, X_hat, mask) == pytest.approx(math.sqrt((9 + 16) / 2))


def test_rmse_on_mask_empty_mask():
    with pytest.raises(ValueError, match="selects no entry"):
        rmse_on_mask(np.zeros((2, 2)), np.ones((2, 2)), np.zeros((2, 2), bool))


def test_rmse_on_mask_non_boolean_mask():
    with pytest.raises(TypeError, match="mask must be a boolean array"):
        rmse_on_mask(np.zeros((2, 2)), np.ones((2, 2)), np.ones((2, 2)))


def test_rmse_on_mask_shape_mismatch():
    with pytest.raises(ValueError, match=r"mask.shape=\(2, 3\)"):
        rmse_on_mask(np.zeros((3, 2)), np.ones((3, 2)), np.ones((2, 3), bool))


# ------------------------------------------------------------ code_statistics


def test_code_statistics_hand_built():
    H = np.array(
        [
            [0.0, 1.0, 0.0, -2.0],
            [0.0, 0.5, 1e-9, 0.0],
        ]
    )
    stats = code_statistics(H)
    assert stats == {
        # sample 0: 2 of 4 active, sample 1: 1 of 4 (1e-9 is below threshold)
        "active_fraction": pytest.approx((0.5 + 0.25) / 2),
        "dead_units": 2,
        "dead_fraction": 0.5,
        "mean_abs": pytest.approx((1 + 2 + 0.5 + 1e-9) / 8),
        "mean_activation": pytest.approx((1 - 2 + 0.5 + 1e-9) / 8),
    }
    assert type(stats["dead_units"]) is int
    assert all(type(stats[k]) is float for k in stats if k != "dead_units")


def test_code_statistics_threshold_changes_activity():
    H = np.array([[0.05, 0.2], [0.05, 0.0]])
    assert code_statistics(H, threshold=0.1)["dead_units"] == 1
    assert code_statistics(H, threshold=0.0)["dead_units"] == 0


@pytest.mark.parametrize("shape", [(4,), (2, 3, 4), (0, 3)])
def test_code_statistics_rejects_non_2d(shape):
    with pytest.raises(ValueError, match="H must be a non-empty 2-D array"):
        code_statistics(np.zeros(shape))


@pytest.mark.parametrize("bad", [-1.0, math.nan, "0"])
def test_code_statistics_bad_threshold(bad):
    with pytest.raises(ValueError, match="threshold must be"):
        code_statistics(np.zeros((2, 2)), threshold=bad)


def test_code_tally_streams_code_statistics(rng):
    """Codes added a block at a time: the statistics of all of them, bit for bit over runs of 4096 rows (inference
    blocks of 8192), to float rounding over others (1e-12)."""
    from aekit.metrics._codes import CodeTally

    H = rng.standard_normal((9000, 5)).astype(np.float32)
    H[:, 2] = 0.0  # a dead unit
    whole = code_statistics(H, threshold=0.5)
    for cuts, exact in (([8192], True), ([7, 100, 4097, 8999], False)):
        tally = CodeTally(0.5)
        for block in np.split(H, cuts):
            tally.add(block)
        streamed = tally.statistics()
        assert streamed == (whole if exact else pytest.approx(whole, rel=1e-12, abs=0))
        assert streamed["dead_units"] == 1


def _fill_with_zeros(A):
    return np.where(np.isnan(A), 0.0, A)


def test_hidden_entry_error_hides_the_given_fraction_of_observed_entries():
    X = np.arange(1.0, 101.0).reshape(10, 10)
    X[:, 0] = np.nan  # 90 observed
    seen = []

    def fill(A):
        seen.append(np.isnan(A) & ~np.isnan(X))
        return _fill_with_zeros(A)

    error = hidden_entry_error(fill, X, fraction=0.2)
    hidden = seen[0]
    assert hidden.sum() == 18  # round(0.2 * 90), never an already-missing entry
    assert error == pytest.approx((X[hidden] ** 2).sum() / 10)
    assert hidden_entry_error(fill, X, fraction=0.2) == error  # the same entries on every call
    assert hidden_entry_error(fill, X, fraction=0.2, seed=1) != error


def test_hidden_entry_error_is_not_fooled_by_a_mask_drawn_with_the_same_seed():
    # A user's missingness made exactly as the score once drew its hidden entries:
    # the score then hid nothing and reported a perfect 0.
    rng = np.random.default_rng(0)
    X = rng.random((50, 8)) + 1.0
    X[np.random.default_rng(0).random(X.shape) < 0.2] = np.nan
    assert hidden_entry_error(_fill_with_zeros, X, fraction=0.2) > 0.0


def test_hidden_entry_error_with_nothing_observed_is_zero():
    assert hidden_entry_error(_fill_with_zeros, np.full((3, 2), np.nan)) == 0.0


@pytest.mark.parametrize("bad", [-0.1, 1.5])
def test_hide_observed_bad_fraction(bad):
    with pytest.raises(ValueError, match="fraction must be in"):
        hide_observed(np.ones((2, 2)), fraction=bad)


# ------------------------------------------- values pinned by independent computations (mutation hunt)


def test_ssim_uses_a_7_pixel_window_and_the_given_data_range():
    # 16x16 8-bit images: skimage itself with the documented window (7) and data_range (255) gives the number
    from skimage.metrics import structural_similarity

    rng = np.random.default_rng(0)
    clean = rng.integers(0, 256, (2, 16, 16)).astype(np.float64)
    noisy = np.clip(clean + rng.normal(0, 30, clean.shape), 0, 255)
    expected = np.mean([structural_similarity(c, e, win_size=7, data_range=255.0) for c, e in zip(clean, noisy)])
    assert ssim(clean.reshape(2, -1), noisy.reshape(2, -1), (16, 16), data_range=255.0) == pytest.approx(expected)
    # a window of 5 or a data_range of 1 gives another value: the pinned one is not a coincidence
    assert structural_similarity(clean[0], noisy[0], win_size=5, data_range=255.0) != pytest.approx(
        structural_similarity(clean[0], noisy[0], win_size=7, data_range=255.0))


def test_code_statistics_counts_a_value_equal_to_the_threshold_as_inactive():
    # "active when |h| > threshold": strictly above
    stats = code_statistics([[0.5, 0.6], [-0.5, 0.0]], threshold=0.5)
    assert stats["active_fraction"] == 0.25 and stats["dead_units"] == 1


def test_code_statistics_remembers_units_active_in_an_earlier_block_of_rows():
    # more rows than one block (4096): unit 0 fires in the first row only, unit 1 in the last row only
    H = np.zeros((5000, 3))
    H[0, 0] = 1.0
    H[-1, 1] = 1.0
    stats = code_statistics(H)
    assert stats["dead_units"] == 1 and stats["dead_fraction"] == pytest.approx(1 / 3)
    assert stats["active_fraction"] == pytest.approx(2 / (5000 * 3))


def test_hide_observed_rounds_the_number_of_hidden_entries():
    # 10 observed entries, fraction 0.26: round(2.6) = 3 entries, not int(2.6) = 2
    X = np.arange(12.0).reshape(3, 4)
    X[0, :2] = np.nan
    hide = hide_observed(X, fraction=0.26, seed=0)
    assert int(hide.sum()) == 3 and not hide[0, :2].any()
