"""aekit.observed: the mask-aware network and the pattern corruption of AutoencoderImputer."""

import numpy as np
import pytest
import torch

from aekit.nets import MLPAutoencoder
from aekit.observed import ObservedInputNet, pattern_corruption


def test_pattern_corruption_hides_other_samples_missing_entries():
    observed = np.array([[1, 0, 1, 1], [0, 1, 1, 0], [1, 1, 1, 1]], dtype=np.float32)
    c = pattern_corruption(observed, 1.0)
    out = c(torch.full((500, 4), 2.0), torch.Generator().manual_seed(0))
    rows = {tuple((r / 2).tolist()) for r in out}
    assert rows == {tuple(m) for m in observed.tolist()}  # each row masked by some sample's pattern
    assert torch.equal(pattern_corruption(observed, 0.0)(torch.ones(5, 4), torch.Generator()), torch.ones(5, 4))
    half = pattern_corruption(observed[:2], 0.5)(torch.ones(2000, 4), torch.Generator().manual_seed(1))
    assert float((half == 1).all(dim=1).float().mean()) == pytest.approx(0.5, abs=0.05)


def test_pattern_corruption_takes_half_of_its_holes_from_the_practice_masks():
    observed = np.ones((3, 4), dtype=np.float32)
    practice = np.array([[1, 1, 0, 0]], dtype=np.float32)
    out = pattern_corruption(observed, 1.0, practice)(torch.ones(4000, 4), torch.Generator().manual_seed(0))
    assert {tuple(r) for r in out.tolist()} == {(1, 1, 1, 1), (1, 1, 0, 0)}
    assert float((out[:, 2] == 0).float().mean()) == pytest.approx(0.5, abs=0.03)
    again = pattern_corruption(observed, 1.0, practice)(torch.ones(4000, 4), torch.Generator().manual_seed(0))
    assert torch.equal(out, again)  # seeded


def test_observed_input_net_passes_seen_entries_through_and_learns_only_from_hidden_ones():
    torch.manual_seed(0)
    net = ObservedInputNet(MLPAutoencoder(2 * 4, (8,), 2), 4)
    x = torch.tensor([[0.5, 0.0, -1.0, 2.0], [0.0, 0.0, 3.0, 0.0]])
    out = net(x)
    seen = x != 0
    assert torch.equal(out[seen], x[seen])
    assert torch.equal(net.decode_logits(net.encode(x)), out)  # identity output: logits are the values
    # the hidden entries' predictions depend on which entries are seen, not only on their values
    assert not torch.allclose(net(torch.tensor([[0.0, 0.0, -1.0, 2.0]]))[0, 1], out[0, 1])
    # a loss on the output gets gradient only through the unseen entries
    params = list(net.parameters())
    loss_seen = ((net(x) - 1.0) ** 2 * seen).sum()
    grads = torch.autograd.grad(loss_seen, params, allow_unused=True) if loss_seen.requires_grad else []
    assert all(g is None or float(g.abs().sum()) == 0.0 for g in grads)
    loss_hidden = ((net(x) - 1.0) ** 2 * ~seen).sum()
    assert any(g is not None and float(g.abs().sum()) > 0
               for g in torch.autograd.grad(loss_hidden, params, allow_unused=True))


def test_observed_input_net_with_sigmoid_output_passes_seen_values_as_logits():
    net = ObservedInputNet(MLPAutoencoder(2 * 3, (4,), 2), 3, output_activation="sigmoid")
    x = torch.tensor([[0.25, 0.0, 0.9]])
    logits = net.decode_logits(net.encode(x))
    np.testing.assert_allclose(torch.sigmoid(logits)[0, [0, 2]].detach().numpy(), [0.25, 0.9], rtol=1e-5)
    assert torch.equal(net(x)[0, [0, 2]], x[0, [0, 2]])


class _Fixed(torch.nn.Module):
    """An inner network without decode_logits: ``fn(both)`` on the interleaved (value, seen flag) input."""

    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, both):
        return self.fn(both)


def test_observed_input_net_interleaves_value_and_seen_flag_and_reads_the_value_channel():
    x = torch.tensor([[0.5, 0.0, -1.0, 0.0]])  # entries 1 and 3 unseen
    # the inner net's input is (x_0, 1, x_1, 0, x_2, 1, x_3, 0): echo it shifted by one, so that output 2 i (the
    # value channel of entry i) is entry i's seen flag; an unseen entry is then predicted as its flag, 0
    shifted = ObservedInputNet(_Fixed(lambda both: torch.roll(both, -1, dims=1)), 4)
    torch.testing.assert_close(shifted(x), torch.tensor([[0.5, 0.0, -1.0, 0.0]]))
    # outputs 0..7: entry i's prediction is output 2 i (its value channel), not 2 i + 1 (its flag channel)
    ranked = ObservedInputNet(_Fixed(lambda both: torch.arange(8.0).expand_as(both)), 4)
    torch.testing.assert_close(ranked(x), torch.tensor([[0.5, 2.0, -1.0, 6.0]]))
