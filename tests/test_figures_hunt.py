"""Figures as a user sees them: what covers what, what is squeezed, what is named, what the grey scale means.

Each test draws a figure of real or realistic data and checks a property a reader would notice
(a legend over the best epoch, a note over the histogram's peak, a panel squeezed to a strip).
"""

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib import colormaps
from matplotlib.colors import to_rgb
from sklearn.datasets import load_breast_cancer

import aekit.plotting
from aekit import Autoencoder, AutoencoderImputer
from aekit.cli import main
from aekit.compare import draw_loss_curve
from aekit.datasets import load_digits
from aekit.plotting import activation_histogram, code_scatter, filter_grid, image_rows, loss_curve

RNG = np.random.default_rng(0)


def renderer(fig):
    """Draw the figure (as saving it would) and return the renderer, for extents in pixels."""
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return canvas.get_renderer()


def overlaps(a, b):
    return a.x0 < b.x1 and b.x0 < a.x1 and a.y0 < b.y1 and b.y0 < a.y1


@pytest.fixture(scope="module")
def digits():
    return load_digits()


# ------------------------------------------------------------ loss_curve


def test_loss_curve_legend_does_not_hide_the_best_epoch():
    # validation above training and flat at the end (a common run): the legend fixed in the upper right
    # covered the end of the validation curve and its best-epoch star
    epochs = np.arange(200)
    train = 1.0 - 5e-5 * epochs + RNG.normal(0, 1e-4, 200)
    validation = 1.1 - 5e-5 * epochs
    fig = loss_curve(train, validation)
    ax = fig.axes[0]
    r = renderer(fig)
    legend = ax.get_legend().get_window_extent(r)
    star = ax.transData.transform((200, validation[-1]))
    assert not legend.contains(*star)
    assert not legend.contains(*ax.transData.transform((150, validation[149])))
    notes = [t.get_window_extent(r) for t in ax.texts]
    assert notes and not any(overlaps(legend, note) for note in notes)


def test_loss_curve_title_names_the_public_class_of_an_experiments_estimator(digits):
    # aekit reproduce's loss_curve.png was titled '_BudgetedAutoencoder: training loss by epoch'
    class _Experiment(Autoencoder):
        pass

    est = _Experiment(n_components=2, hidden_layer_sizes=(8,), max_epochs=2, random_state=0).fit(digits.X_train)
    assert draw_loss_curve(est, None).axes[0].get_title() == "Autoencoder: training loss by epoch"


def test_loss_curve_says_when_the_loss_is_of_scaled_data(digits):
    # an imputer standardises by default: its 'MSE per entry' of 1.1 on pixels in [0, 1] read as a failure
    imputer = AutoencoderImputer(n_components=2, hidden_layer_sizes=(8,), max_epochs=2, random_state=0)
    ylabel = draw_loss_curve(imputer.fit(digits.X_train), None).axes[0].get_ylabel()
    assert ylabel == "MSE per entry, standardised features"
    plain = Autoencoder(n_components=2, hidden_layer_sizes=(8,), max_epochs=2, random_state=0, scaling="minmax")
    assert draw_loss_curve(plain.fit(digits.X_train), None).axes[0].get_ylabel() == (
        "MSE per entry, min-max scaled features")


# ------------------------------------------------------------ activation_histogram


@pytest.mark.parametrize("n_nan", [0, 5])
def test_activation_histogram_note_leaves_the_bars_visible(n_nan):
    # a code centred on zero (a plain autoencoder's): the note in the upper right covered the peak
    H = RNG.normal(size=(3000, 16))
    H[0, :n_nan] = np.nan  # a second line in the note
    fig = activation_histogram(H)
    ax = fig.axes[0]
    r = renderer(fig)
    note = ax.texts[0].get_bbox_patch().get_window_extent(r)
    bars = [p.get_window_extent(r) for p in ax.patches if p.get_height() > 0]
    assert bars and not any(overlaps(note, bar) for bar in bars)


# ------------------------------------------------------------ code_scatter


@pytest.mark.parametrize("n_panels, n_classes", [(1, 15), (2, 10), (1, 50)])
def test_code_scatter_legend_does_not_squeeze_the_panels(n_panels, n_classes):
    # 15 long class names beside one panel left it a strip 0.3 times as wide as tall
    y = np.arange(600) % n_classes
    names = [f"a long class name {i}" for i in range(n_classes)]
    Z = RNG.normal(size=(600, 2)) + y[:, None]
    fig = code_scatter([(f"method {i}", Z) for i in range(n_panels)], y, class_names=names, title="codes")
    r = renderer(fig)
    for ax in fig.axes[:n_panels]:
        box = ax.get_window_extent(r)
        assert box.width >= 0.85 * box.height
    key = fig.legends[0].get_window_extent(r) if fig.legends else fig.axes[-1].get_window_extent(r)
    width, _ = fig.get_size_inches() * fig.dpi
    assert key.x1 <= width + 1


def test_code_scatter_up_to_twenty_classes_the_first_ten_get_ten_hues():
    # tab20 in its own order paired each hue dark then light: classes 0 and 1 both blue, 2 and 3 both orange
    y = np.arange(300) % 15
    fig = code_scatter({"codes": RNG.normal(size=(300, 2))}, y)
    colours = [handle.get_color() for handle in fig.legends[0].legend_handles]
    # the ten hues of tab10 (tab20's dark ones), then their light versions
    assert [to_rgb(c) for c in colours[:10]] == [to_rgb(colormaps["tab10"](i)) for i in range(10)]
    assert len({tuple(to_rgb(c)) for c in colours}) == 15


# ------------------------------------------------------------ image_rows


def cell_px(fig):
    box = fig.axes[0].get_window_extent(renderer(fig))
    return box.width, box.height


def test_image_rows_draws_a_few_big_images_at_their_own_pixels():
    # a 256x256 photo in a row of two was drawn 100 pixels wide: fine detail (noise, what denoising removed) lost
    photo = RNG.random((2, 256 * 256))
    assert cell_px(image_rows({"noisy": photo, "denoised": photo}, (256, 256))) == pytest.approx((256, 256), abs=1)
    # very big ones stop at 3 inches, many columns still share a printable width, small images are unchanged
    assert cell_px(image_rows({"x": RNG.random((1, 600 * 400))}, (600, 400))) == pytest.approx((200, 300), abs=1)
    assert image_rows({"x": RNG.random((10, 256 * 256))}, (256, 256)).get_size_inches()[0] < 14
    assert cell_px(image_rows({"x": RNG.random((10, 64))}, (8, 8))) == pytest.approx((100, 100), abs=1)


def test_errors_figure_keeps_pixel_data_on_the_unit_scale(digits, tmp_path, monkeypatch):
    # a model whose reconstructions leave [0, 1] (one epoch, linear output): 'auto' then stretched every
    # column to its own min..max, so the digits' black background came out grey in `aekit errors --figure`
    ae = Autoencoder(n_components=2, hidden_layer_sizes=(8,), max_epochs=1, random_state=0).fit(digits.X_train)
    rec = ae.reconstruct(digits.X_test)
    assert rec.min() < 0.0 or rec.max() > 1.0
    ae.save(tmp_path / "m")
    drawn = []
    draw = aekit.plotting.image_rows

    def spy(rows, image_shape, path=None, **kwargs):
        drawn.append(draw(rows, image_shape, **kwargs))
        return draw(rows, image_shape, path=path, **kwargs)

    monkeypatch.setattr(aekit.plotting, "image_rows", spy)
    assert main(["errors", str(tmp_path / "m"), "--dataset", "digits", "--out", str(tmp_path / "e.npy"),
                 "--figure", str(tmp_path / "f.png"), "-q", "--threads", "1"]) == 0
    assert (tmp_path / "f.png").stat().st_size > 0
    clims = {ax.images[0].get_clim() for ax in drawn[0].axes if ax.images}
    assert clims == {(0.0, 1.0)}


# ------------------------------------------------------------ filter_grid


@pytest.mark.parametrize("n, shape", [(3, (8, 8)), (256, (28, 28)), (10, (10, 40)), (6, (4, 4, 3))])
def test_filter_grid_says_each_filter_has_its_own_scale(n, shape):
    # the figure alone did not say that a weak filter is drawn as dark/light as a strong one
    fig = filter_grid(RNG.normal(size=(n, int(np.prod(shape)))), shape, title="first-layer filters")
    r = renderer(fig)
    caption = [t for t in fig.texts if "own largest |weight|" in t.get_text()]
    assert len(caption) == 1
    box = caption[0].get_window_extent(r)
    width, height = fig.get_size_inches() * fig.dpi
    assert 0 <= box.x0 and box.x1 <= width + 1 and 0 <= box.y0
    mosaic = fig.axes[0].images[0].get_window_extent(r)
    assert not overlaps(box, mosaic)
    assert not overlaps(box, fig.texts[0].get_window_extent(r))  # nor the title


# ------------------------------------------------------------ tabular data


def test_compare_on_a_table_says_why_there_is_no_figure(tmp_path, capsys):
    # the help promises figure.png; for a table it was silently left out
    np.save(tmp_path / "cancer.npy", load_breast_cancer().data[:200].astype(np.float32))
    assert main(["compare", str(tmp_path / "cancer.npy"), "--out", str(tmp_path / "out"), "--standardize",
                 "--n-components", "2", "--hidden-layer-sizes", "8", "--max-epochs", "2", "--threads", "1"]) == 0
    assert not (tmp_path / "out" / "figure.png").exists() and (tmp_path / "out" / "loss_curve.png").exists()
    assert "no figure.png: cancer.npy has no image shape (its rows are not images; --image-shape H W [C] draws rows " \
           "that are)" in capsys.readouterr().err


def test_compare_draws_flat_rows_in_the_image_shape_given(tmp_path, capsys):
    # a flat .npy of images (MNIST as 784 columns): --image-shape was taken by the MLP and ignored by the figure
    np.save(tmp_path / "flat.npy", load_digits().X_train)  # (n, 64), no image shape in a flat .npy
    common = ["compare", str(tmp_path / "flat.npy"), "--n-components", "2", "--hidden-layer-sizes", "8",
              "--max-epochs", "1", "--threads", "1", "--quiet"]
    assert main([*common, "--out", str(tmp_path / "out"), "--image-shape", "8", "8"]) == 0
    assert (tmp_path / "out" / "figure.png").is_file()
    # a shape that does not hold the rows trained, then failed drawing them (an error about 'test images')
    capsys.readouterr()
    assert main([*common, "--out", str(tmp_path / "bad"), "--image-shape", "4", "4"]) == 2
    assert "--image-shape 4 4 needs 16 features per sample, but X has 64." in capsys.readouterr().err
    assert not (tmp_path / "bad").exists()


@pytest.mark.parametrize("cls, kw, words", [
    ("VariationalAutoencoder", dict(loss="bce"), "BCE per entry + KL term"),
    ("SparseAutoencoder", dict(), "MSE per entry + sparsity penalty"),
    ("ContractiveAutoencoder", dict(), "MSE per entry + Jacobian penalty"),
])
def test_loss_curve_names_what_the_training_loss_adds(cls, kw, words):
    import aekit
    from aekit.compare import draw_loss_curve

    X = np.random.default_rng(0).random((60, 6)).astype(np.float32)
    est = getattr(aekit, cls)(2, hidden_layer_sizes=(4,), max_epochs=2, random_state=0, device="cpu", **kw).fit(X)
    fig = draw_loss_curve(est, None)
    assert fig.axes[0].get_ylabel() == words  # "+ penalty" said nothing of a VAE's KL term


def test_code_scatter_ten_classes_get_colours_told_apart_under_colour_blindness():
    # tab10's green/red and blue/purple pairs look alike to deuteranopes; Petroff's ten were chosen not to
    from aekit.plotting._codes import PETROFF10

    fig = code_scatter({"codes": RNG.normal(size=(300, 2))}, np.arange(300) % 10)
    colours = [to_rgb(handle.get_color()) for handle in fig.legends[0].legend_handles]
    assert colours == [to_rgb(c) for c in PETROFF10] and len(set(colours)) == 10
    import matplotlib

    if hasattr(matplotlib, "color_sequences") and "petroff10" in matplotlib.color_sequences:
        assert colours == [to_rgb(c) for c in matplotlib.color_sequences["petroff10"]]  # matplotlib's own copy
