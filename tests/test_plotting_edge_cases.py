"""Figures that stay readable on odd inputs: properties of the returned Figure, not pixels."""

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg

from aekit.plotting import activation_histogram, code_scatter, filter_grid, image_rows, loss_curve

RNG = np.random.default_rng(0)


def texts(fig):
    return [t.get_text() for t in fig.texts] + [t.get_text() for ax in fig.axes for t in ax.texts]


def image_axes(fig):
    return [ax for ax in fig.axes if ax.images]


def renderer(fig):
    """Draw the figure (as saving it would) and return the renderer, for text extents."""
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return canvas.get_renderer()


def size_px(fig):
    return fig.get_size_inches() * fig.dpi


# ------------------------------------------------------------ image_rows


@pytest.mark.parametrize("n", [1, 2])
def test_image_rows_one_or_two_images(n):
    fig = image_rows({"test images": RNG.random((n, 64)), "PCA": RNG.random((n, 64))}, (8, 8), title="a title")
    assert len(image_axes(fig)) == 2 * n
    assert "a title" in texts(fig)


def test_image_rows_pixels_in_unit_range_get_a_fixed_grey_scale():
    # a faint reconstruction must look faint: no per-image or per-column stretching
    fig = image_rows({"test images": RNG.random((3, 64)), "faint": 0.1 * RNG.random((3, 64))}, (8, 8))
    for ax in image_axes(fig):
        image = ax.images[0]
        assert image.get_clim() == (0.0, 1.0)
        assert image.get_cmap().name.startswith("gray")


def test_image_rows_data_outside_unit_range_is_scaled_by_column():
    X = RNG.normal(size=(2, 64))
    fig = image_rows({"x": X}, (8, 8))
    assert fig.axes[0].images[0].get_clim() == (X[0].min(), X[0].max())


def test_image_rows_rgb_images_are_shown_in_colour():
    X = RNG.random((2, 8 * 8 * 3))
    fig = image_rows({"rgb": X}, (8, 8, 3))
    data = np.asarray(fig.axes[0].images[0].get_array())
    assert data.shape == (8, 8, 3)
    np.testing.assert_allclose(data, X[0].reshape(8, 8, 3))


def test_rgba_images_are_drawn_without_their_alpha(tmp_path):
    # load_array gives an (n, H, W, 4) .npy image_shape (H, W, 4); image_rows refused it, so aekit compare on
    # such a file trained both models and then failed drawing the figure
    from aekit.datasets import load_array

    rgba = RNG.random((3, 5, 6, 4))
    np.save(tmp_path / "rgba.npy", rgba)
    X, image_shape = load_array(tmp_path / "rgba.npy")
    fig = image_rows({"rgba": X}, image_shape)
    drawn = image_axes(fig)[0].images[0].get_array()
    assert drawn.shape == (5, 6, 3)
    np.testing.assert_allclose(drawn, rgba[0, :, :, :3])
    mosaic = filter_grid(X, image_shape).axes[0].images[0].get_array()
    assert mosaic.shape[2] == 3


@pytest.mark.parametrize("shape", [(10, 40), (40, 10), (1, 100), (1, 1), (28, 28)])
def test_image_rows_non_square_images_keep_their_aspect_and_a_sane_size(shape):
    n_features = shape[0] * shape[1]
    fig = image_rows({"test images": RNG.random((5, n_features)), "autoencoder": RNG.random((5, n_features))},
                     shape)
    width, height = fig.get_size_inches()
    assert 1.0 < width <= 20 and 0.4 < height <= 6
    for ax in image_axes(fig):
        w, h = ax.get_position().size * fig.get_size_inches()
        assert h / w == pytest.approx(shape[0] / shape[1])
        assert max(w, h) >= 0.19  # never a sliver
    # a row is at least as tall as its label: labels do not overlap
    label_y = sorted(t.get_position()[1] * height for t in fig.texts)
    assert label_y[1] - label_y[0] >= 0.2


def test_image_rows_many_images_stay_within_a_printable_width():
    fig = image_rows({"x": RNG.random((64, 64))}, (8, 8), n_images=64)
    assert len(image_axes(fig)) == 64
    assert size_px(fig)[0] <= 1800  # it was 2851 px for 64 cells of 8x8 pixels


def test_image_rows_missing_values_drawn_red_with_a_note():
    X = RNG.random((3, 64))
    X[0, :10] = np.nan
    X[1, 5] = np.inf
    fig = image_rows({"x": X}, (8, 8))
    bad = fig.axes[0].images[0].get_cmap().get_bad()
    assert bad[0] > 0.7 and bad[1] < 0.3 and bad[3] == 1.0  # opaque red, not the transparent default
    assert any("missing values" in t for t in texts(fig))
    assert not any("missing" in t for t in texts(image_rows({"x": RNG.random((3, 64))}, (8, 8))))


def test_image_rows_missing_rgb_pixels_painted_red():
    X = RNG.random((1, 4 * 4 * 3))
    X[0, 0] = np.nan
    data = np.asarray(image_rows({"x": X}, (4, 4, 3)).axes[0].images[0].get_array())
    assert np.isfinite(data).all()
    assert data[0, 0, 0] > 0.7 and data[0, 0, 1] < 0.3


def test_image_rows_long_labels_wrap_and_the_title_fits():
    label = "AutoencoderImputer (pattern, practising on the holes to fill)"
    title = "a title much wider than the one small image it stands over, which must not be cut off"
    fig = image_rows([(label, RNG.random((1, 64)))], (8, 8), title=title)
    shown = [t for t in fig.texts if t.get_text().replace("\n", " ") == label]
    assert len(shown) == 1 and shown[0].get_text().count("\n") == 1
    drawn = renderer(fig)
    for t in fig.texts:
        box = t.get_window_extent(drawn)
        assert box.x0 >= 0 and box.x1 <= size_px(fig)[0] + 1


def test_image_rows_constant_images_do_not_crash():
    assert len(image_axes(image_rows({"x": np.ones((3, 64))}, (8, 8)))) == 3
    assert len(image_axes(image_rows({"x": np.full((2, 64), np.nan)}, (8, 8)))) == 2


# ------------------------------------------------------------ filter_grid


@pytest.mark.parametrize("n, shape", [(1, (8, 8)), (2, (8, 8)), (10, (10, 40)), (10, (40, 10)), (16, (4, 4, 3))])
def test_filter_grid_odd_inputs(n, shape):
    fig = filter_grid(RNG.normal(size=(n, int(np.prod(shape)))), shape, title="first-layer filters")
    mosaic = np.asarray(fig.axes[0].images[0].get_array())
    aspect = mosaic.shape[0] / mosaic.shape[1]
    assert 0.25 <= aspect <= 4  # wide filters are stacked, not a thin strip
    assert 1.0 <= fig.get_size_inches().min() and 2.0 <= fig.get_size_inches().max() <= 8.5


def test_filter_grid_all_nan_and_title_wider_than_the_mosaic():
    title = "first-layer filters of a diverged network (2 of 2)"
    fig = filter_grid(np.full((2, 16), np.nan), (4, 4), title=title)
    box = fig.texts[0].get_window_extent(renderer(fig))
    assert box.x0 >= 0 and box.x1 <= size_px(fig)[0] + 1


# ------------------------------------------------------------ loss_curve


def test_loss_curve_marks_the_lowest_validation_epoch():
    ax = loss_curve([3.0, 2.0, 1.5, 1.4], [3.1, 2.0, 2.2, 2.5]).axes[0]
    assert [line.get_label() for line in ax.lines] == ["train", "validation"]
    star = [c for c in ax.collections if c.get_label() == "_best"]
    assert len(star) == 1 and tuple(star[0].get_offsets()[0]) == (2.0, 2.0)
    assert any("best: epoch 2" in t for t in texts(ax.figure))


def test_loss_curve_best_epoch_given_or_switched_off():
    fig = loss_curve([3.0, 2.0, 1.0], [3.0, 2.5, 2.6], best_epoch=3)
    assert any("best: epoch 3, 2.6" in t for t in texts(fig))
    assert not any("best" in t for t in texts(loss_curve([3.0, 2.0], best_epoch=0)))
    with pytest.raises(ValueError, match="best_epoch must be"):
        loss_curve([1.0], best_epoch=-1)


def test_loss_curve_log_axis_when_loss_spans_decades():
    ax = loss_curve(np.logspace(2, -3, 50), np.logspace(2, -2, 50), title="training").axes[0]
    assert ax.get_yscale() == "log" and ax.get_title() == "training"
    assert ax.get_xlabel() == "epoch" and ax.get_ylabel() == "loss"


@pytest.mark.parametrize("validation", [None, [0.6]])
def test_loss_curve_one_epoch_has_one_integer_tick(validation):
    ax = loss_curve([0.5], validation).axes[0]
    assert list(ax.get_xticks()) == [1]
    lo, hi = ax.get_xlim()
    assert lo < 1 < hi


def test_loss_curve_non_finite_epochs_are_marked_not_hidden():
    fig = loss_curve([1.0, 0.5, np.nan, 0.2, np.inf, 0.1], [1.1, 0.6, 0.4, np.nan, 0.3, 0.2])
    ax = fig.axes[0]
    crosses = [c for c in ax.collections if c.get_label() == "_non-finite"]
    assert sorted(x for c in crosses for x in c.get_offsets()[:, 0]) == [3, 4, 5]
    assert any("NaN or infinite loss at epoch 3, 4, 5" in t for t in texts(fig))
    assert any("best: epoch 6" in t for t in texts(fig))


def test_loss_curve_all_nan_does_not_crash():
    fig = loss_curve([np.nan, np.nan], [np.inf, np.nan])
    lo, hi = fig.axes[0].get_xlim()
    assert lo < 1 and hi > 2
    assert not any("best" in t for t in texts(fig))


# ------------------------------------------------------------ code_scatter


def test_code_scatter_ten_named_classes_in_a_legend():
    y = np.arange(10).repeat(20)
    names = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
             "Ankle boot"]
    fig = code_scatter({"PCA": RNG.normal(size=(200, 2)), "autoencoder": RNG.normal(size=(200, 2))}, y,
                       class_names=names)
    legend = fig.legends[0]
    assert [t.get_text() for t in legend.get_texts()] == names
    assert legend.get_title().get_text() == "class"
    colours = {tuple(h.get_color()) for h in legend.legend_handles}
    assert len(colours) == 10
    assert all(ax.get_xlabel() == "code 1" and ax.get_ylabel() == "code 2" for ax in fig.axes)
    box = legend.get_window_extent(renderer(fig))  # the whole legend inside the figure
    width, height = size_px(fig)
    assert box.x1 <= width + 1 and box.y0 >= -1 and box.y1 <= height + 1


def test_code_scatter_very_many_classes_get_a_colour_bar():
    y = np.arange(100).repeat(5)
    fig = code_scatter({"PCA": RNG.normal(size=(500, 2)), "autoencoder": RNG.normal(size=(500, 2))}, y)
    assert not fig.legends  # 100 legend entries ran off the figure
    assert len(fig.axes) == 3 and fig.axes[2].get_ylabel() == "class"
    colours = fig.axes[0].collections[0].get_facecolors()
    assert len({tuple(np.round(c, 3)) for c in colours}) == 100  # no two classes share a colour


def test_code_scatter_fifteen_classes_two_legend_columns():
    y = np.arange(15).repeat(4)
    fig = code_scatter({"PCA": RNG.normal(size=(60, 2))}, y)
    assert len(fig.legends[0].get_texts()) == 15 and fig.legends[0]._ncols == 2


@pytest.mark.parametrize("codes, y", [
    (RNG.normal(size=(1, 2)), [3]),
    (np.zeros((5, 2)), [0, 1, 0, 1, 0]),
    (np.zeros((0, 2)), np.zeros(0, int)),
    (np.array([[np.nan, 1.0], [0.0, np.inf], [1.0, 2.0]]), [0, 1, 0]),
    (np.full((2, 2), np.nan), [0, 1]),
])
def test_code_scatter_odd_codes_do_not_crash(codes, y):
    fig = code_scatter({"PCA": codes}, np.asarray(y))
    lo, hi = fig.axes[0].get_xlim()
    assert np.isfinite([lo, hi]).all() and lo < hi
    n_bad = int((~np.isfinite(codes).all(axis=1)).sum())
    assert any(f"{n_bad} non-finite codes" in t for t in texts(fig)) == bool(n_bad)


# ------------------------------------------------------------ activation_histogram


@pytest.mark.parametrize("H", [np.zeros((3, 3)), [[1.0]], [[np.inf, 0.5]]])
def test_activation_histogram_odd_inputs(H):
    ax = activation_histogram(H).axes[0]
    assert ax.get_xlabel() == "activation" and ax.get_yscale() == "log"
