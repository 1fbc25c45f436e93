"""Reconstruction losses against values computed by hand (numpy), with and without a mask."""

import math

import numpy as np
import pytest
import torch

from aekit.losses import LOSSES, binary_cross_entropy, mse


def _bce_by_hand(logits, target):
    p = 1.0 / (1.0 + np.exp(-logits))
    return -(target * np.log(p) + (1 - target) * np.log(1 - p))


OUT = np.array([[0.5, -1.0, 2.0], [0.0, 3.0, -0.5]])
TARGET = np.array([[0.2, 0.0, 1.0], [1.0, 0.5, 0.25]])
MASK = np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 1.0]])


def _t(a):
    return torch.tensor(a, dtype=torch.float64)


def test_mse_with_a_mask_is_the_mean_squared_error_of_the_counted_entries():
    # the errors of the masked entries are 0.3, 1.0, 2.5, -0.75: squares, not absolute values
    expected = ((OUT - TARGET) ** 2 * MASK).sum() / MASK.sum()
    assert float(mse(_t(OUT), _t(TARGET), _t(MASK))) == pytest.approx(expected)
    assert float(mse(_t(OUT), _t(TARGET))) == pytest.approx(((OUT - TARGET) ** 2).mean())


def test_bce_with_a_mask_is_the_cross_entropy_of_the_counted_entries():
    # targets in [0, 1] are the second argument: the logits -1 and 3 would make no sense as targets
    per_entry = _bce_by_hand(OUT, TARGET)
    expected = (per_entry * MASK).sum() / MASK.sum()
    assert float(binary_cross_entropy(_t(OUT), _t(TARGET), _t(MASK))) == pytest.approx(expected)
    assert float(binary_cross_entropy(_t(OUT), _t(TARGET))) == pytest.approx(per_entry.mean())


def test_bce_is_computed_from_the_logits_without_saturating():
    # sigmoid(200) is 1.0 in float32: BCE through the probabilities clamps log(0) to -100 (a loss of 100),
    # from the logits it is the exact 200 (softplus), so a confidently wrong decoder keeps its gradient
    logits, target = torch.tensor([[200.0, -200.0]]), torch.tensor([[0.0, 1.0]])
    assert float(binary_cross_entropy(logits, target)) == pytest.approx(200.0)
    assert float(binary_cross_entropy(logits, target, torch.ones(1, 2))) == pytest.approx(200.0)


def test_a_batch_with_no_counted_entry_gives_zero_not_nan():
    zero = torch.zeros(2, 3)
    for loss in LOSSES.values():
        value = loss.fn(torch.ones(2, 3), torch.full((2, 3), 0.5), zero)
        assert float(value) == 0.0 and not math.isnan(float(value))
    # an empty batch without a mask counts none either (torch's mean of nothing is NaN), and still backpropagates
    for loss in LOSSES.values():
        output = torch.ones(0, 3, requires_grad=True)
        value = loss.fn(output, torch.zeros(0, 3))
        value.backward()
        assert value.shape == () and float(value.detach()) == 0.0 and output.grad.shape == (0, 3)
