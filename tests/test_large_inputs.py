"""Large inputs outside the training step: results as the straightforward path gives them, memory bounded by a block.

The performance hunt's fixes (numbers in its report): patch reassembly without a Python loop per patch, patches
gathered a band at a time, scaled inference without float64 copies of the whole of X.
"""

import tracemalloc

import numpy as np
import pytest

from aekit import DenoisingAutoencoder
from aekit.images import _CHUNK, _window, average_patches, denoise_image, extract_patches


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
