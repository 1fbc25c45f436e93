import math

import pytest
import torch

from aekit.corruption import CORRUPTIONS, gaussian_noise, make_corruption, masking_noise, salt_and_pepper

N = 200_000


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("level", [0.05, 0.3, 1.0])
def test_gaussian_noise_has_zero_mean_and_the_requested_std(level):
    x = torch.full((N,), 0.5)
    noise = gaussian_noise(x, level, gen()) - x
    assert abs(float(noise.mean())) < 4 * level / math.sqrt(N)
    assert float(noise.std()) == pytest.approx(level, rel=0.01)


@pytest.mark.parametrize("level", [0.0, 0.1, 0.5, 0.9])
def test_masking_sets_the_requested_fraction_to_the_fill_value(level):
    x = torch.rand(N) + 1.0  # never equal to the fill values below
    out = masking_noise(x, level, gen())
    assert float((out == 0).float().mean()) == pytest.approx(level, abs=0.005)
    kept = out != 0
    assert torch.equal(out[kept], x[kept])
    out7 = masking_noise(x, level, gen(), fill_value=7.0)
    assert float((out7 == 7).float().mean()) == pytest.approx(level, abs=0.005)


@pytest.mark.parametrize("low, high", [(0.0, 1.0), (0.0, 255.0), (-1.0, 1.0)])
def test_salt_and_pepper_sets_the_fraction_to_low_or_high_evenly(low, high):
    x = torch.full((N,), (low + high) / 2)
    out = salt_and_pepper(x, 0.2, gen(), low=low, high=high)
    salt, pepper = float((out == high).float().mean()), float((out == low).float().mean())
    assert salt + pepper == pytest.approx(0.2, abs=0.005)
    assert salt == pytest.approx(0.1, abs=0.005)
    assert pepper == pytest.approx(0.1, abs=0.005)


@pytest.mark.parametrize("name", list(CORRUPTIONS))
def test_seeded_corruption_is_deterministic_and_fresh_on_each_call(name):
    c = make_corruption(name, 0.3)
    x = torch.rand(64, 50)
    a, b = c(x, gen(1)), c(x, gen(1))
    assert torch.equal(a, b)
    g = gen(1)
    first, second = c(x, g), c(x, g)
    assert not torch.equal(first, second)  # fresh noise every batch
    assert not torch.equal(c(x, gen(2)), a)


@pytest.mark.parametrize("name", list(CORRUPTIONS))
def test_corruption_leaves_its_input_alone_and_level_zero_is_identity(name):
    x = torch.rand(10, 20)
    copy = x.clone()
    make_corruption(name, 0.5)(x, gen())
    assert torch.equal(x, copy)
    assert torch.equal(make_corruption(name, 0.0)(x, gen()), x)


def test_random_level_draws_one_level_per_sample():
    c = make_corruption("masking", 0.8, random_level=True)
    out = c(torch.ones(400, 2000), gen())
    per_row = (out == 0).float().mean(dim=1)
    assert float(per_row.min()) < 0.1 and float(per_row.max()) > 0.7  # levels spread over [0, 0.8]
    assert float(per_row.mean()) == pytest.approx(0.4, abs=0.05)
    g = make_corruption("gaussian", 0.5, random_level=True)
    stds = (g(torch.zeros(300, 4000), gen()).std(dim=1))
    assert float(stds.max()) <= 0.52 and float(stds.min()) < 0.05


@pytest.mark.parametrize("power", [1.0, 2.0, 3.0])
def test_level_power_shifts_the_levels_towards_weak_noise(power):
    # level = 0.8 * u**power, u ~ U[0, 1]: mean 0.8 / (power + 1), median 0.8 * 0.5**power
    c = make_corruption("masking", 0.8, random_level=True, level_power=power)
    per_row = (c(torch.ones(2000, 1000), gen()) == 0).float().mean(dim=1)
    assert float(per_row.mean()) == pytest.approx(0.8 / (power + 1), abs=0.02)
    assert float(per_row.median()) == pytest.approx(0.8 * 0.5**power, abs=0.03)
    assert float(per_row.max()) <= 0.85


def test_level_power_does_nothing_without_random_level():
    x = torch.zeros(50, 100)
    a = make_corruption("gaussian", 0.3, level_power=3.0)(x, gen())
    b = make_corruption("gaussian", 0.3)(x, gen())
    assert torch.equal(a, b)


@pytest.mark.parametrize("power", [0.0, -1.0, float("nan"), "2", True])
def test_level_power_must_be_positive(power):
    with pytest.raises(ValueError, match="level_power must be a number > 0"):
        make_corruption("gaussian", 0.3, random_level=True, level_power=power)


def test_make_corruption_passes_options():
    c = make_corruption("salt_and_pepper", 1.0, low=-2.0, high=3.0)
    values = set(c(torch.zeros(1000), gen()).unique().tolist())
    assert values == {-2.0, 3.0}
    assert set(make_corruption("masking", 1.0, fill_value=-1.0)(torch.ones(10), gen()).tolist()) == {-1.0}


def test_unknown_corruption_is_a_clear_error():
    with pytest.raises(ValueError, match=r"corruption must be one of \{'gaussian', 'masking', 'salt_and_pepper'\}; "
                                         r"got 'blur'"):
        make_corruption("blur", 0.1)


@pytest.mark.parametrize("name, level, bound", [
    ("masking", 1.5, r"\[0, 1\]"), ("salt_and_pepper", -0.1, r"\[0, 1\]"), ("gaussian", -1.0, r"\[0, inf\)"),
    ("gaussian", float("nan"), r"\[0, inf\)"),
    ("gaussian", float("inf"), r"\[0, inf\)"),  # infinite noise made every training input inf/NaN
])
def test_level_out_of_range_is_a_clear_error(name, level, bound):
    with pytest.raises(ValueError, match=f"corruption_level for '{name}' must be in {bound}"):
        make_corruption(name, level)


@pytest.mark.parametrize("level", ["0.1", None, True])
def test_level_must_be_a_number(level):
    with pytest.raises(TypeError, match="corruption_level must be a number"):
        make_corruption("gaussian", level)


def test_options_are_checked_up_front():
    with pytest.raises(TypeError, match=r"corruption 'gaussian' takes the options \{\}; got \['fill_value'\]"):
        make_corruption("gaussian", 0.1, fill_value=0.0)
    with pytest.raises(ValueError, match="salt_and_pepper needs low <= high"):
        make_corruption("salt_and_pepper", 0.1, low=1.0, high=0.0)


def test_random_level_on_a_1d_tensor_draws_a_level_per_entry():
    # each entry of a 1-D x is its own sample: gaussian noise at level u ~ U[0, 1] has E[(u eps)^2] = 1/3
    corrupt = make_corruption("gaussian", 1.0, random_level=True)
    out = corrupt(torch.zeros(20000), torch.Generator().manual_seed(0))
    assert float(out.square().mean()) == pytest.approx(1 / 3, rel=0.05)


def test_salt_and_pepper_accepts_a_range_of_one_value():
    # constant data has low == high ("low <= high"): every hit entry takes that value
    corrupt = make_corruption("salt_and_pepper", 1.0, low=2.0, high=2.0)
    assert torch.equal(corrupt(torch.zeros(50), torch.Generator().manual_seed(0)), torch.full((50,), 2.0))
