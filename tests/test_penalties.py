"""Sparsity penalties: values by hand, gradients, dispatch and argument errors."""

import doctest
import math

import numpy as np
import pytest
import torch

from aekit import penalties
from aekit.penalties import PENALTIES, kl_divergence_bernoulli, kl_penalty, l1_penalty, make_penalty


def test_docstring_examples_run():
    result = doctest.testmod(penalties)
    assert result.attempted > 0 and result.failed == 0


def test_l1_sums_units_and_averages_batch():
    h = torch.tensor([[1.0, -2.0, 0.0], [0.5, 0.5, 1.0]])
    # per sample |h| sums: 3 and 2 -> mean 2.5
    assert float(l1_penalty(h, 1.0)) == pytest.approx(2.5)
    assert float(l1_penalty(h, 0.1)) == pytest.approx(0.25)
    # batch mean: repeating the batch changes nothing
    assert float(l1_penalty(torch.cat([h, h]), 1.0)) == pytest.approx(2.5)


def test_kl_matches_formula_and_is_zero_at_target():
    rho = 0.1
    h = torch.tensor([[0.2, 0.1], [0.4, 0.1]])  # unit means 0.3 and 0.1
    expected = rho * math.log(rho / 0.3) + (1 - rho) * math.log((1 - rho) / 0.7)  # unit 2 contributes 0
    assert float(kl_penalty(h, 2.0, rho)) == pytest.approx(2.0 * expected, rel=1e-5)
    assert float(kl_penalty(torch.full((5, 4), rho), 1.0, rho)) == pytest.approx(0.0, abs=1e-5)


def test_kl_is_finite_for_saturated_units_and_pushes_back():
    h = torch.tensor([[0.0, 1.0], [0.0, 1.0]], requires_grad=True)
    value = kl_penalty(h, 1.0, 0.05)
    assert torch.isfinite(value)
    value.backward()
    assert torch.all(torch.isfinite(h.grad))
    # a unit stuck at 1 is pushed down (positive gradient), one at 0 is pushed up
    assert h.grad[0, 1] > 0 and h.grad[0, 0] < 0


@pytest.mark.parametrize("target", [1e-46, 1e-300, 0.05, 1 - 1e-12])
def test_kl_divergence_of_extreme_targets_is_finite_and_exact(target):
    # target / rho_hat in float32 underflowed to 0 for a target below 1.4e-45: log(0) * target gave NaN
    rho_hat = torch.tensor([1e-3, 0.05, 0.5, 0.9])
    got = kl_divergence_bernoulli(target, rho_hat).double()
    r = 1e-6 + (1 - 2e-6) * rho_hat.double()
    want = target * np.log(target / r) + (1 - target) * np.log((1 - target) / (1 - r))
    assert torch.isfinite(got).all()
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-5, atol=1e-7)


def test_kl_divergence_is_nonnegative():
    rho_hat = torch.linspace(0.0, 1.0, 101)
    assert torch.all(kl_divergence_bernoulli(0.3, rho_hat) >= -1e-7)


def test_l1_gradient_is_sign_over_batch():
    h = torch.tensor([[2.0, -1.0], [-3.0, 0.5]], requires_grad=True)
    l1_penalty(h, 1.0).backward()
    np.testing.assert_allclose(h.grad.numpy(), np.sign(h.detach().numpy()) / 2)


def test_dispatch_table_and_make_penalty():
    assert set(PENALTIES) == {"l1", "kl", "topk"}
    assert PENALTIES["topk"] is None
    h = torch.rand(8, 5)
    assert float(make_penalty("l1", 0.3)(h)) == pytest.approx(float(l1_penalty(h, 0.3)))
    assert float(make_penalty("kl", 0.3, 0.2)(h)) == pytest.approx(float(kl_penalty(h, 0.3, 0.2)))
    assert make_penalty("topk", 1.0) is None
    assert make_penalty("l1", 0.0) is None  # weight 0: no penalty at all


@pytest.mark.parametrize("args, message", [
    (("l2", 1.0), r"sparsity must be one of \{'l1', 'kl', 'topk'\}; got 'l2'"),
    (("l1", -0.1), r"sparsity_weight must be a finite number >= 0; got -0.1"),
    (("l1", float("nan")), r"sparsity_weight must be a finite number >= 0"),
    (("l1", "1"), r"sparsity_weight must be a finite number >= 0"),
    (("kl", 1.0, 0.0), r"sparsity_target must be in \(0, 1\); got 0.0"),
    (("kl", 1.0, 1.5), r"sparsity_target must be in \(0, 1\); got 1.5"),
    (("kl", 1.0, None), r"sparsity_target must be in \(0, 1\); got None"),
])
def test_make_penalty_errors(args, message):
    with pytest.raises(ValueError, match=message):
        make_penalty(*args)
