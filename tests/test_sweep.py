"""aekit.sweep and ``aekit sweep``: the autoencoder against PCA at several code sizes."""

import json

import numpy as np
import pytest

from aekit import Autoencoder
from aekit.cli import main
from aekit.compare import compare_with_pca
from aekit.plotting import error_curve
from aekit.sweep import format_sweep, sweep_code_sizes, write_sweep

SMALL = {"hidden_layer_sizes": (16,), "max_epochs": 3, "random_state": 0, "device": "cpu"}


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = (rng.normal(size=(120, 4)) @ rng.normal(size=(4, 12))).astype(np.float32)  # rank 4
    return X[:90], X[90:]


@pytest.fixture(scope="module")
def result(data):
    return sweep_code_sizes(Autoencoder(**SMALL), *data, [4, 1, 2, 2])


def test_one_comparison_per_size_smallest_first(data, result):
    X_train, X_test = data
    assert result["n_components"] == [1, 2, 4] and result["method"] == "autoencoder" and result["n_train"] == 90
    pca, ae = result["rows"]["PCA"], result["rows"]["autoencoder"]
    assert all(len(v) == 3 for row in (pca, ae) for v in row.values())
    np.testing.assert_allclose(result["ratio"][:2], np.divide(ae["test_error"][:2], pca["test_error"][:2]))
    assert result["ratio"][2] is None  # PCA-4 exact on rank-4 data: the quotient would be rounding's (~1e8)
    assert pca["test_error"][0] > pca["test_error"][1] > pca["test_error"][2] >= 0  # more components, less error
    assert pca["test_error"][2] < 1e-8 * pca["test_error"][0]  # rank-4 data: PCA-4 is exact
    # each size is compare_with_pca's own comparison, with a fresh estimator of that size
    alone = compare_with_pca(Autoencoder(n_components=2, **SMALL), X_train, X_test)
    assert alone["rows"]["PCA"]["test_error"] == pca["test_error"][1]
    assert alone["rows"]["autoencoder"]["test_error"] == ae["test_error"][1]
    assert ae["epochs"] == [3, 3, 3]


def test_the_estimator_given_is_left_unfitted(data):
    estimator = Autoencoder(n_components=7, **SMALL)
    sweep_code_sizes(estimator, *data, [1, 2])
    assert estimator.n_components == 7 and not hasattr(estimator, "net_")


def test_labels_add_nearest_neighbour_accuracy(data):
    X_train, X_test = data
    y_train, y_test = (X_train[:, 0] > 0).astype(int), (X_test[:, 0] > 0).astype(int)
    result = sweep_code_sizes(Autoencoder(**SMALL), X_train, X_test, 2, y_train=y_train, y_test=y_test)
    assert 0.0 <= result["rows"]["PCA"]["knn_accuracy"][0] <= 1.0
    assert "5-NN" in format_sweep(result)


@pytest.mark.parametrize("sizes, match", [
    ([], r"n_components must be one or more code sizes >= 1; got \[\]"),
    ([2, 0], r"n_components must be one or more code sizes >= 1; got \[2, 0\]"),
    ([True], r"n_components must be one or more code sizes >= 1"),
    ([2.5], r"n_components must be one or more code sizes >= 1"),
    ([1, 13], r"n_components=13 is larger than PCA allows for X_train of shape \(90, 12\): at most 12"),
])
def test_refusals_come_before_any_training(data, sizes, match, monkeypatch):
    monkeypatch.setattr(Autoencoder, "fit", lambda *a, **k: pytest.fail("trained before refusing"))
    with pytest.raises(ValueError, match=match):
        sweep_code_sizes(Autoencoder(**SMALL), *data, sizes)


def test_table_and_files(result, tmp_path):
    table = format_sweep(result, "rank-4 data")
    lines = table.splitlines()
    assert lines[0] == "### rank-4 data" and lines[2].startswith("| code size | PCA test error |")
    assert [line.split("|")[1].strip() for line in lines[4:] if line.startswith("|")] == ["1", "2", "4"]
    assert f"{result['ratio'][0]:.3f}" in lines[4]
    assert lines[6].split("|")[4].strip() == "n/a"  # code size 4: PCA exact, no ratio
    paths = write_sweep(result, tmp_path, Autoencoder(n_components=9, **SMALL), "rank-4 data")
    assert sorted(p.name for p in paths.values()) == ["errors.png", "results.json", "results.md"]
    saved = json.loads((tmp_path / "results.json").read_text())
    assert saved["n_components"] == [1, 2, 4] and saved["dataset"] == "rank-4 data"
    assert saved["rows"]["PCA"]["test_error"] == result["rows"]["PCA"]["test_error"]
    assert "n_components" not in saved["params"] and saved["params"]["hidden_layer_sizes"] == [16]
    assert (tmp_path / "results.md").read_text() == table


def test_the_table_says_where_the_network_ran_out_of_epochs(result):
    # SMALL trains 3 epochs, all of them at every size: its error there is a budget's, not the method's
    assert result["max_epochs"] == 3
    assert format_sweep(result).splitlines()[-1] == ("At code size 1, 2, 4 the autoencoder ran all max_epochs=3 epochs "
                                                     "without early stopping: more epochs may lower its error.")
    stopped = {**result, "rows": {**result["rows"], "autoencoder": {**result["rows"]["autoencoder"],
                                                                    "epochs": [2, 3, 1]}}}
    assert format_sweep(stopped).splitlines()[-1].startswith("At code size 2 the autoencoder ran all")
    assert "without early stopping" not in format_sweep({**stopped, "max_epochs": 10})


def test_error_curve_one_line_per_method_with_its_own_marker():
    fig = error_curve([1, 2, 64], {"autoencoder": [3.0, 2.0, 1.0], "PCA": [4.0, np.nan, 0.5]})
    ax = fig.axes[0]
    lines = ax.get_lines()
    assert [line.get_label() for line in lines] == ["autoencoder", "PCA"]
    assert lines[0].get_marker() != lines[1].get_marker()  # told apart without colour too
    assert ax.get_xscale() == "log" and [t.get_text() for t in ax.get_xticklabels()] == ["1", "2", "64"]
    assert error_curve([2, 4], {"a": [1.0, 0.5]}).axes[0].get_xscale() == "linear"


@pytest.mark.parametrize("sizes, errors, match", [
    ([4, 2], {"a": [1, 2]}, r"n_components must be positive, increasing code sizes; got \[4, 2\]"),
    ([0, 2], {"a": [1, 2]}, r"n_components must be positive, increasing code sizes"),
    ([1, 2], {}, r"errors must name at least one method's errors; got none"),
    ([1, 2], {"a": [1.0]}, r"errors\['a'\] has 1 values for 2 code sizes"),
])
def test_error_curve_refusals(sizes, errors, match):
    with pytest.raises(ValueError, match=match):
        error_curve(sizes, errors)


def test_cli_sweep_on_digits(tmp_path, capsys):
    out = tmp_path / "sweep"
    args = ["sweep", "--dataset", "digits", "--n-components", "4", "2", "--hidden-layer-sizes", "16",
            "--max-epochs", "3", "--random-state", "0", "--out", str(out), "--quiet", "--threads", "1"]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "| code size | PCA test error | autoencoder test error |" in printed
    assert sorted(p.name for p in out.iterdir()) == ["errors.png", "results.json", "results.md"]
    saved = json.loads((out / "results.json").read_text())
    assert saved["n_components"] == [2, 4] and saved["params"]["max_epochs"] == 3
    assert main(args) == 2  # an existing --out is not replaced without --overwrite
    assert "exists" in capsys.readouterr().err


def test_cli_sweep_refuses_a_code_size_of_zero_before_reading_data(tmp_path, capsys):
    assert main(["sweep", "--dataset", "fashion-mnist", "--data-dir", str(tmp_path), "--n-components",
                 "0", "4", "--out", str(tmp_path / "o")]) == 2
    # named as the flag the user typed, as every other estimator parameter is on the command line
    assert "--n-components must be one or more code sizes >= 1; got [0, 4]" in capsys.readouterr().err


def test_cli_sweep_names_its_n_components_flag_in_the_estimators_errors(tmp_path, capsys):
    assert main(["sweep", "--dataset", "digits", "--n-components", "2", "100", "--out", str(tmp_path / "o")]) == 2
    assert "error: --n-components 100 is larger than PCA allows" in capsys.readouterr().err
