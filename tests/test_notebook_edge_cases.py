"""How aekit behaves for someone working in a Jupyter notebook, simulated in-process.

IPython's display machinery (``IPython.core.formatters``) is what a notebook
uses to show a cell's result; the stop button raises ``KeyboardInterrupt``.
"""

import numpy as np
import pytest

from aekit import plotting

IPython = pytest.importorskip("IPython")


def _notebook_display(obj):
    """The MIME bundle a Jupyter notebook gets for ``obj`` as a cell's result."""
    from IPython.core.formatters import DisplayFormatter

    data, _ = DisplayFormatter().format(obj)
    return data


FIGURES = {
    "loss_curve": lambda: plotting.loss_curve([3.0, 2.0, 1.5], [3.1, 2.2, 1.9]),
    "activation_histogram": lambda: plotting.activation_histogram(np.random.default_rng(0).random((50, 4))),
    "image_rows": lambda: plotting.image_rows([("x", np.random.default_rng(0).random((3, 16)))], (4, 4)),
    "filter_grid": lambda: plotting.filter_grid(np.random.default_rng(0).random((4, 16)), (4, 4)),
    "code_scatter": lambda: plotting.code_scatter({"codes": np.random.default_rng(0).random((30, 2))},
                                                  np.arange(30) % 3),
}


@pytest.mark.parametrize("name", sorted(FIGURES))
def test_returned_figures_show_inline_in_a_notebook(name):
    # a figure built without pyplot showed as the text "<Figure size 600x400 with 1 Axes>"
    data = _notebook_display(FIGURES[name]())
    assert data["image/png"][:8] == b"\x89PNG\r\n\x1a\n"
    assert data["text/plain"].startswith("<Figure size")


def test_figure_is_shown_once_with_matplotlib_inline_active():
    # %matplotlib inline registers its own PNG formatter for Figure; IPython then uses that
    # one instead of _repr_png_: one picture, not two
    from IPython.core.formatters import DisplayFormatter
    from matplotlib.figure import Figure

    formatter = DisplayFormatter()
    calls = []
    formatter.formatters["image/png"].for_type(Figure, lambda fig: calls.append(fig) or b"inline")
    data, _ = formatter.format(FIGURES["loss_curve"]())
    assert data["image/png"] == b"inline" and len(calls) == 1
