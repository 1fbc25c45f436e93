import ast
import doctest
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from matplotlib.figure import Figure
from PIL import Image

from aekit import plotting
from aekit.plotting import activation_histogram, filter_grid, image_rows, loss_curve

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def digits():
    """Tiny seeded 8x8 'images' in [0, 1]."""
    return np.random.default_rng(0).random((12, 64))


def assert_png(path, min_size=(100, 100)):
    with open(path, "rb") as f:
        assert f.read(8) == PNG_MAGIC
    with Image.open(path) as im:
        assert im.format == "PNG"
        assert im.size[0] >= min_size[0] and im.size[1] >= min_size[1]
        return im.size


@pytest.mark.parametrize("module", ["_codes", "_curves", "_images", "_figure"])
def test_docstring_examples_run(module):
    import importlib

    result = doctest.testmod(importlib.import_module(f"aekit.plotting.{module}"))
    assert result.failed == 0
    assert result.attempted > 0 or module == "_figure"  # the helpers have no examples


def test_public_functions_are_the_packages():
    assert sorted(plotting.__all__) == ["activation_histogram", "code_scatter", "error_curve", "filter_grid", "image_rows",
                                      "loss_curve"]
    assert all(callable(getattr(plotting, name)) for name in plotting.__all__)


def test_drawing_and_saving_never_imports_pyplot(tmp_path):
    # pyplot holds global state and picks a display backend; a fresh process
    # shows whether plotting pulls it in.
    path = str(tmp_path / "a.png")
    code = (
        "import sys, numpy as np; from aekit import plotting; "
        f"plotting.image_rows({{'x': np.zeros((2, 4))}}, (2, 2), path={path!r}); "
        "assert 'matplotlib.pyplot' not in sys.modules, 'pyplot imported'"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    subprocess.run([sys.executable, "-c", code], check=True, env=env)


# ------------------------------------------------------------ every function


@pytest.mark.parametrize(
    "draw",
    [
        lambda X, p: image_rows({"test images": X, "PCA": X / 2}, (8, 8), path=p),
        lambda X, p: loss_curve([1.0, 0.5, 0.3], [1.1, 0.7, 0.6], path=p),
        lambda X, p: filter_grid(X - 0.5, (8, 8), path=p, title="filters"),
        lambda X, p: activation_histogram(X, path=p, title="codes"),
    ],
    ids=["image_rows", "loss_curve", "filter_grid", "activation_histogram"],
)
def test_writes_png_and_returns_path(tmp_path, digits, draw):
    path = tmp_path / "figure.png"
    returned = draw(digits, str(path))
    assert returned == path
    assert_png(path)
    assert os.listdir(tmp_path) == ["figure.png"]


@pytest.mark.parametrize(
    "draw",
    [
        lambda X: image_rows([("a", X)], (8, 8)),
        lambda X: loss_curve([1.0, 0.5]),
        lambda X: filter_grid(X, (8, 8)),
        lambda X: activation_histogram(X),
    ],
)
def test_returns_figure_without_path(digits, draw):
    assert isinstance(draw(digits), Figure)


@pytest.mark.parametrize("suffix, magic", [(".svg", b"<?xml"), (".pdf", b"%PDF")])
def test_format_follows_suffix(tmp_path, suffix, magic):
    path = loss_curve([1.0, 0.5], path=tmp_path / f"loss{suffix}")
    assert path.read_bytes().startswith(magic)


@pytest.mark.parametrize("name", ["figure", "figure.nope"])
def test_bad_suffix_rejected_before_drawing(tmp_path, name):
    with pytest.raises(ValueError, match="figure format suffix"):
        loss_curve([1.0], path=tmp_path / name)
    assert os.listdir(tmp_path) == []


def test_bad_path_type():
    with pytest.raises(TypeError, match="path must be"):
        loss_curve([1.0], path=3)


# ------------------------------------------------------------ atomic saving


def test_failed_save_leaves_nothing_behind(tmp_path, monkeypatch):
    def broken_savefig(self, fname, **kwargs):
        fname.write(b"partial")  # a partial write, then a crash
        raise RuntimeError("disk full")

    monkeypatch.setattr(Figure, "savefig", broken_savefig)
    with pytest.raises(RuntimeError, match="disk full"):
        loss_curve([1.0, 0.5], path=tmp_path / "loss.png")
    assert os.listdir(tmp_path) == []


def test_failed_save_keeps_previous_file(tmp_path, monkeypatch):
    path = tmp_path / "loss.png"
    loss_curve([1.0, 0.5], path=path)
    before = path.read_bytes()

    def broken_savefig(self, fname, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(Figure, "savefig", broken_savefig)
    with pytest.raises(RuntimeError):
        loss_curve([3.0, 2.0, 1.0], path=path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["loss.png"]


def test_saved_file_gets_ordinary_permissions(tmp_path):
    plain = tmp_path / "plain.bin"
    plain.write_bytes(b"")
    saved = loss_curve([1.0, 0.5], path=tmp_path / "loss.png")
    assert saved.stat().st_mode == plain.stat().st_mode


def test_overwrite_replaces_file(tmp_path):
    path = tmp_path / "loss.png"
    path.write_bytes(b"old")
    loss_curve([1.0, 0.5], path=path)
    assert_png(path)
    assert os.listdir(tmp_path) == ["loss.png"]


# ------------------------------------------------------------ image_rows


def test_image_rows_axes_count(digits):
    fig = image_rows(
        {"test images": digits, "autoencoder (err 12.3)": digits, "PCA": digits},
        (8, 8),
        n_images=5,
    )
    image_axes = [ax for ax in fig.axes if ax.images]
    assert len(image_axes) == 3 * 5
    assert {t.get_text() for t in fig.texts} == {
        "test images",
        "autoencoder (err 12.3)",
        "PCA",
    }


def test_image_rows_short_row_leaves_blank_cells(digits):
    fig = image_rows([("all", digits), ("three", digits[:3])], (8, 8), n_images=6)
    assert len(fig.axes) == 6 + 3


def test_image_rows_cells_are_square(digits):
    fig = image_rows({"a": digits}, (8, 8), n_images=4)
    width, height = fig.get_size_inches()
    for ax in fig.axes:
        x0, y0, w, h = ax.get_position().bounds
        assert w * width == pytest.approx(h * height)


def test_image_rows_joint_normalisation_shares_column_range():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(3, 64))  # mean-subtracted data, outside [0, 1]
    fig = image_rows([("x", X), ("half", X / 2)], (8, 8), n_images=3)
    for j in range(3):
        top, bottom = fig.axes[j].images[0], fig.axes[3 + j].images[0]
        assert top.get_clim() == bottom.get_clim() == (X[j].min(), X[j].max())


def test_image_rows_none_normalisation_uses_unit_range(digits):
    fig = image_rows([("x", digits)], (8, 8), n_images=2, normalize="none")
    assert all(ax.images[0].get_clim() == (0.0, 1.0) for ax in fig.axes)


def test_image_rows_rgb_clipped(tmp_path):
    X = np.random.default_rng(0).normal(0.5, 1.0, size=(3, 6 * 5 * 3))
    fig = image_rows([("rgb", X)], (6, 5, 3), normalize="none")
    data = fig.axes[0].images[0].get_array()
    assert data.shape == (6, 5, 3)
    assert data.min() >= 0.0 and data.max() <= 1.0
    assert_png(image_rows([("rgb", X)], (6, 5, 3), path=tmp_path / "rgb.png"), (50, 50))


def test_image_rows_title(digits):
    fig = image_rows([("x", digits)], (8, 8), title="digits")
    assert "digits" in {t.get_text() for t in fig.texts}


def test_image_rows_wrong_feature_count(digits):
    match = r"rows\['PCA'\] must have shape \(n_samples, 49\)"
    with pytest.raises(ValueError, match=match):
        image_rows({"PCA": digits}, (7, 7))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"normalize": "per-image"}, "normalize must be one of"),
        ({"n_images": 0}, "n_images must be a positive integer"),
        ({"image_shape": (8, 8, 2)}, "image_shape must be"),
    ],
)
def test_image_rows_bad_arguments(digits, kwargs, match):
    kwargs = {"image_shape": (8, 8), **kwargs}
    with pytest.raises(ValueError, match=match):
        image_rows({"x": digits}, **kwargs)


def test_image_rows_empty_rows():
    with pytest.raises(ValueError, match="at least one"):
        image_rows({}, (8, 8))


def test_image_rows_frames_each_image_so_white_edges_stay_visible():
    # axes were switched off: an image with white edges (a dark shape on white) merged into the white page
    from matplotlib.colors import to_rgba

    white = np.ones((2, 16))
    fig = image_rows([("white", white)], (4, 4))
    for ax in fig.axes:
        assert ax.axison and not ax.get_xticks().size and not ax.get_yticks().size
        assert all(spine.get_visible() and spine.get_edgecolor() == to_rgba("0.7") for spine in ax.spines.values())


def test_image_rows_rows_not_pairs(digits):
    with pytest.raises(TypeError, match="list of \\(label, images\\) pairs"):
        image_rows([digits], (8, 8))


# ------------------------------------------------------------ loss_curve


def test_loss_curve_log_scale_chosen_by_span():
    assert loss_curve([1.0, 0.5, 0.2]).axes[0].get_yscale() == "linear"
    assert loss_curve([1.0, 0.1, 0.01]).axes[0].get_yscale() == "log"
    assert loss_curve([1.0, 0.5], logy=True).axes[0].get_yscale() == "log"
    assert loss_curve([1.0, 0.01, 0.001], logy=False).axes[0].get_yscale() == "linear"


def test_loss_curve_negative_values_stay_linear():
    assert loss_curve([1.0, -0.01, -100.0]).axes[0].get_yscale() == "linear"
    with pytest.raises(ValueError, match="logy=True needs positive"):
        loss_curve([1.0, -0.5], logy=True)


def test_loss_curve_lines_legend_and_labels():
    ax = loss_curve([3.0, 2.0, 1.0], [3.5, 2.5], ylabel="MSE").axes[0]
    names = ["train", "validation"]
    assert [line.get_label() for line in ax.lines] == names
    assert list(ax.lines[0].get_xdata()) == [1, 2, 3]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == names
    assert ax.get_ylabel() == "MSE" and ax.get_xlabel() == "epoch"


def test_loss_curve_ignores_nan_for_scale():
    assert loss_curve([1.0, np.nan, 0.5]).axes[0].get_yscale() == "linear"


def test_loss_curve_of_a_model_fitted_without_validation():
    # its validation_scores_ is []: loss_curve(m.loss_curve_, m.validation_scores_) raised "validation_loss must be
    # a non-empty 1-D sequence"
    from aekit import Autoencoder

    X = np.random.default_rng(0).random((40, 6)).astype(np.float32)
    ae = Autoencoder(n_components=2, hidden_layer_sizes=(4,), max_epochs=3, validation_fraction=0.0,
                     random_state=0).fit(X)
    assert ae.validation_scores_ == []
    ax = loss_curve(ae.loss_curve_, ae.validation_scores_, best_epoch=ae.best_epoch_).axes[0]
    assert [line.get_label() for line in ax.lines] == ["train"]
    with pytest.raises(ValueError, match="validation_loss must be a non-empty 1-D"):
        loss_curve([1.0, 0.5], [[1.0, 2.0]])


@pytest.mark.parametrize("bad", [[], [[1.0, 2.0]]])
def test_loss_curve_bad_input(bad):
    with pytest.raises(ValueError, match="train_loss must be a non-empty 1-D"):
        loss_curve(bad)


# ------------------------------------------------------------ filter_grid


def test_filter_grid_layout_and_symmetric_scaling():
    W = np.random.default_rng(0).normal(size=(10, 12))
    W[3] = 0.0  # a dead filter must not divide by zero
    image = filter_grid(W, (3, 4)).axes[0].images[0]
    mosaic = np.asarray(image.get_array())
    assert mosaic.shape == (3 * 4 - 1, 4 * 5 - 1)  # 3 x 4 cells, 1-pixel gaps
    assert image.get_clim() == (-1.0, 1.0)
    first = mosaic[:3, :4]
    assert np.abs(first).max() == pytest.approx(1.0)
    np.testing.assert_allclose(first, W[0].reshape(3, 4) / np.abs(W[0]).max())
    assert np.all(mosaic[0:3, 15:19] == 0.0)  # unit 3 is row 0, column 3
    assert np.all(np.isnan(mosaic[3])) and np.all(np.isnan(mosaic[:, 4]))  # gaps


def test_filter_grid_n_max():
    W = np.random.default_rng(0).normal(size=(300, 16))
    mosaic = filter_grid(W, (4, 4), n_max=9).axes[0].images[0].get_array()
    assert mosaic.shape == (3 * 5 - 1, 3 * 5 - 1)


def test_filter_grid_rgb():
    W = np.random.default_rng(0).normal(size=(5, 4 * 4 * 3))
    mosaic = filter_grid(W, (4, 4, 3)).axes[0].images[0].get_array()
    assert mosaic.shape[-1] == 3
    assert 0.0 <= mosaic.min() and mosaic.max() <= 1.0



@pytest.mark.parametrize("shape", [(3, 4), (3, 4, 3)])
def test_filter_grid_draws_nan_weights_in_red_not_as_the_largest_weight(shape):
    # a diverged model's NaN weights were drawn white, as its strongest positive weights (and the gaps) are
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.colors import to_rgba

    W = np.random.default_rng(0).normal(size=(4, int(np.prod(shape))))
    W[1, 0] = np.nan  # unit 1 is cell (0, 1): its top-left pixel is at row 0, column 5
    fig = filter_grid(W, shape)
    ax = fig.axes[0]
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    pixels = np.asarray(canvas.buffer_rgba())
    extent = ax.get_window_extent()
    height, width = pixels.shape[:2]
    # the centre of mosaic pixel (0, 5) of the 7 x 9 mosaic, in figure pixels (row 0 at the top)
    x = extent.x0 + (5 + 0.5) / 9 * extent.width
    y = height - (extent.y1 - (0 + 0.5) / 7 * extent.height)
    red = np.array(to_rgba("tab:red")[:3]) * 255
    np.testing.assert_allclose(pixels[int(y), int(x), :3], red, atol=2)
    assert any("NaN" in t.get_text() for t in fig.texts)  # the caption says what red is

def test_filter_grid_bad_input():
    with pytest.raises(ValueError, match=r"W must have shape \(n_samples, 64\)"):
        filter_grid(np.zeros((4, 60)), (8, 8))
    with pytest.raises(ValueError, match="n_max must be a positive integer"):
        filter_grid(np.zeros((4, 64)), (8, 8), n_max=0)
    with pytest.raises(ValueError, match="at least one filter"):
        filter_grid(np.zeros((0, 64)), (8, 8))


# ------------------------------------------------------------ activation_histogram


def test_activation_histogram_counts_and_near_zero_text():
    H = np.array([[0.0, 0.0, 0.0, 1.0], [2.0, 0.0, 3.0, np.nan]])
    ax = activation_histogram(H, bins=4).axes[0]
    assert ax.get_yscale() == "log"
    assert sum(patch.get_height() for patch in ax.patches) == 7  # NaN dropped
    text = " ".join(t.get_text() for t in ax.texts)
    assert "57.1%" in text  # 4 of 7 finite values are zero
    assert "1 non-finite" in text


def test_activation_histogram_bad_input():
    with pytest.raises(ValueError, match="at least one finite value"):
        activation_histogram(np.full((2, 2), np.nan))
    with pytest.raises(ValueError, match="bins must be a positive integer"):
        activation_histogram(np.zeros((2, 2)), bins=0)
    with pytest.raises(ValueError, match="threshold must be"):
        activation_histogram(np.zeros((2, 2)), threshold=-1)


@pytest.mark.parametrize("path", sorted(Path(plotting.__file__).parent.glob("*.py")), ids=lambda p: p.name)
def test_plotting_imports_nothing_else_of_aekit(path):
    # STYLE: plotting sits at the bottom with datasets and metrics; only the standard library,
    # numpy, matplotlib and its own modules
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            roots = [alias.name.split(".")[0] for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            assert node.level <= 1, f"{path.name} imports outside aekit.plotting (line {node.lineno})"
            roots = [] if node.level == 1 else [node.module.split(".")[0]]
        else:
            continue
        for root in roots:
            assert root in sys.stdlib_module_names or root in {"__future__", "numpy", "matplotlib"}, (
                f"{path.name} imports {root}")
    assert len(path.read_text().splitlines()) < 400


# ------------------------------------------------------------ code_scatter
def test_code_scatter_one_panel_per_method_and_a_legend_entry_per_class(tmp_path):
    from aekit.plotting import code_scatter

    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(3), [50, 30, 5])
    panels = {"PCA": rng.normal(size=(85, 2)), "autoencoder": rng.normal(size=(85, 2)) + y[:, None]}
    fig = code_scatter(panels, y, max_per_class=20, class_names=["cat", "dog", "emu"])
    assert [ax.get_title() for ax in fig.axes] == ["PCA", "autoencoder"]
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["cat", "dog", "emu"]
    # at most 20 of each class: 20 + 20 + 5 points in every panel
    assert all(ax.collections[0].get_offsets().shape == (45, 2) for ax in fig.axes)
    drawn = fig.axes[1].collections[0].get_offsets()
    assert {tuple(p) for p in drawn} <= {tuple(p) for p in panels["autoencoder"]}
    path = code_scatter(panels, y, path=tmp_path / "codes.png")
    assert path.read_bytes()[:8] == PNG_MAGIC


@pytest.mark.parametrize("panels, y, match", [
    ({}, np.zeros(3, int), "panels is empty"),
    ({"PCA": np.zeros((3, 3))}, np.zeros(3, int), r"the codes of 'PCA' must have shape \(3, 2\)"),
    ({"PCA": np.zeros((4, 2))}, np.zeros(3, int), r"the codes of 'PCA' must have shape \(3, 2\)"),
    ({"PCA": np.zeros((3, 2))}, np.zeros(3), "y must be a 1-D array of integer labels; got dtype float64"),
])
def test_code_scatter_errors(panels, y, match):
    from aekit.plotting import code_scatter

    with pytest.raises(ValueError, match=match):
        code_scatter(panels, y)


def test_image_rows_says_when_each_column_is_stretched(digits):
    def notes(fig):
        return [t.get_text() for t in fig.texts if "scale" in t.get_text()]

    assert notes(image_rows({"pixels": digits}, (8, 8), n_images=3)) == []  # 0 black, 1 white: nothing to say
    stretched = image_rows({"centred": digits - digits.mean(axis=0)}, (8, 8), n_images=3)
    assert notes(stretched) == ["grey scale: each column stretched from its lowest value over the rows (black) "
                                "to its highest (white)"]
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    renderer = FigureCanvasAgg(stretched).get_renderer()
    assert all(t.get_window_extent(renderer).x1 <= stretched.bbox.width + 1 for t in stretched.texts)  # all shown
