"""compare_with_pca's numbers against PCA, k-NN and squared errors computed independently here."""

import numpy as np
import pytest
from sklearn.decomposition import PCA
from sklearn.neighbors import KNeighborsClassifier

from aekit import Autoencoder
from aekit.compare import compare_with_pca, format_table


def _sq_per_sample(A, B):
    return float(((np.asarray(A, np.float64) - np.asarray(B, np.float64)) ** 2).sum(axis=1).mean())


def test_compare_with_pca_reports_each_methods_errors_ratio_and_knn_accuracy():
    rng = np.random.default_rng(0)
    X = (rng.standard_normal((120, 4)) @ rng.standard_normal((4, 8)) + 0.1 * rng.standard_normal((120, 8)))
    X = X.astype(np.float32)
    y = (X[:, 0] > 0).astype(int)
    X_train, X_test, y_train, y_test = X[:80], X[80:], y[:80], y[80:]
    ae = Autoencoder(n_components=2, hidden_layer_sizes=(8,), max_epochs=3, random_state=0)
    result = compare_with_pca(ae, X_train, X_test, y_train=y_train, y_test=y_test)
    pca_row, ae_row = result["rows"]["PCA"], result["rows"][result["method"]]

    pca = PCA(n_components=2, random_state=0).fit(X_train)
    pca_test = _sq_per_sample(X_test, pca.inverse_transform(pca.transform(X_test)))
    assert pca_row["test_error"] == pytest.approx(pca_test, rel=1e-4)
    assert pca_row["train_error"] == pytest.approx(
        _sq_per_sample(X_train, pca.inverse_transform(pca.transform(X_train))), rel=1e-4)
    assert pca_row["train_error"] != pytest.approx(pca_row["test_error"], rel=1e-3)  # two different numbers
    assert ae_row["test_error"] == pytest.approx(_sq_per_sample(X_test, ae.reconstruct(X_test)), rel=1e-5)
    assert ae_row["train_error"] == pytest.approx(_sq_per_sample(X_train, ae.reconstruct(X_train)), rel=1e-5)
    assert ae_row["train_error"] != pytest.approx(ae_row["test_error"], rel=1e-3)
    # estimator / PCA: above 1 when the autoencoder does worse (3 epochs: it does)
    assert result["ratio"] == pytest.approx(ae_row["test_error"] / pca_test, rel=1e-4) and result["ratio"] > 1

    knn = KNeighborsClassifier(n_neighbors=5).fit(pca.transform(X_train), y_train)
    assert pca_row["knn_accuracy"] == pytest.approx(knn.score(pca.transform(X_test), y_test))
    knn = KNeighborsClassifier(n_neighbors=5).fit(ae.transform(X_train), y_train)
    assert ae_row["knn_accuracy"] == pytest.approx(knn.score(ae.transform(X_test), y_test))


def test_no_knn_accuracy_when_no_test_class_occurs_in_training():
    # Olivetti is split by person: a classifier of the training codes can name no test face, so aekit compare
    # printed "5-NN accuracy of the codes: PCA 0.000, autoencoder 0.000" whatever the codes; the 2-D codes
    # are still kept for the scatter plot coloured by class
    rng = np.random.default_rng(0)
    X = rng.random((60, 6)).astype(np.float32)
    y = np.repeat(np.arange(6), 10)
    ae = Autoencoder(n_components=2, hidden_layer_sizes=(4,), max_epochs=2, random_state=0)
    result = compare_with_pca(ae, X[:40], X[40:], y_train=y[:40], y_test=y[40:])
    assert all("knn_accuracy" not in row for row in result["rows"].values())
    assert "5-NN" not in format_table(result)
    assert set(result["codes"]) == {"PCA", "autoencoder"}
    # one shared class is enough for the accuracy to mean something
    y_shared = y.copy()
    y_shared[40:45] = 0
    assert "knn_accuracy" in compare_with_pca(ae, X[:40], X[40:], y_train=y[:40], y_test=y_shared[40:])["rows"]["PCA"]


def test_a_code_as_large_as_the_data_is_warned_about(caplog):
    # PCA then reconstructs X exactly and the printed ratio was rounding's (51331422175924.609 on a 5-column CSV)
    X = np.random.default_rng(0).random((40, 5)).astype(np.float32)
    ae = Autoencoder(n_components=5, hidden_layer_sizes=(4,), max_epochs=1, random_state=0)
    with caplog.at_level("WARNING", logger="aekit.compare"):
        result = compare_with_pca(ae, X[:30], X[30:])
    assert result["rows"]["PCA"]["test_error"] < 1e-8
    assert [r.getMessage() for r in caplog.records if r.levelname == "WARNING"] == [
        "n_components=5 is not below the 5 features: PCA reconstructs X exactly, so the comparison says nothing of "
        "either; choose a code smaller than the data"]
    # and no ratio: it was printed in bold as the comparison's answer
    assert result["ratio"] is None
    assert "autoencoder / PCA test error: undefined (PCA reconstructs the test data exactly)" in format_table(result)
    caplog.clear()
    with caplog.at_level("WARNING", logger="aekit.compare"):
        result = compare_with_pca(ae.set_params(n_components=4), X[:30], X[30:])
    assert not [r for r in caplog.records if r.levelname == "WARNING"]
    assert result["ratio"] == pytest.approx(result["rows"]["autoencoder"]["test_error"]
                                            / result["rows"]["PCA"]["test_error"])


def test_data_of_lower_rank_than_the_code_give_no_ratio(caplog):
    # 8 columns spanning 3 dimensions: PCA-4 is exact though the code is smaller than the data, and the ratio was
    # rounding's quotient (a number like 1e13)
    rng = np.random.default_rng(0)
    X = (rng.random((60, 3)) @ rng.random((3, 8))).astype(np.float32)
    ae = Autoencoder(n_components=4, hidden_layer_sizes=(6,), max_epochs=1, random_state=0)
    with caplog.at_level("WARNING", logger="aekit.compare"):
        result = compare_with_pca(ae, X[:40], X[40:])
    assert result["ratio"] is None
    # integer pixels too: their squares summed in uint8 wrapped around (16 * 16 = 256 -> 0), so a PCA error of
    # rounding's size was compared with 0 and the ratio given
    from aekit.compare import _ratio

    pixels = np.full((5, 4), 16, dtype=np.uint8)
    assert _ratio(1.0, 1e-20, pixels, k=2) is None and _ratio(1.0, 0.5, pixels, k=2) == 2.0
    caplog.clear()
    ae.set_params(n_components=4)
    with caplog.at_level("WARNING", logger="aekit.compare"):
        result = compare_with_pca(ae, X[:40], X[40:])
    assert [r.getMessage() for r in caplog.records if r.levelname == "WARNING"] == [
        f"PCA-4 reconstructs the test data exactly (error {result['rows']['PCA']['test_error']:.3g} per sample, "
        "within rounding of 0): they lie in a space of at most 4 dimensions, so no ratio to PCA is given; choose a "
        "smaller code"]


def test_compare_under_a_global_pandas_output_gives_the_same_result():
    # with sklearn.set_config(transform_output="pandas") the internal PCA gave DataFrames and compare_with_pca (so
    # sweep_code_sizes) failed with AttributeError: 'DataFrame' object has no attribute 'dtype'
    pytest.importorskip("pandas")
    import sklearn

    from aekit.sweep import sweep_code_sizes

    rng = np.random.default_rng(0)
    X = rng.random((60, 6)).astype(np.float32)
    y = (X[:, 0] > 0.5).astype(int)
    ae = Autoencoder(n_components=2, hidden_layer_sizes=(4,), max_epochs=2, random_state=0)
    plain = compare_with_pca(ae, X[:40], X[40:], y_train=y[:40], y_test=y[40:])
    with sklearn.config_context(transform_output="pandas"):
        framed = compare_with_pca(ae, X[:40], X[40:], y_train=y[:40], y_test=y[40:])
        swept = sweep_code_sizes(ae, X[:40], X[40:], [1, 2])
    for name in plain["rows"]:
        assert framed["rows"][name]["test_error"] == plain["rows"][name]["test_error"]
        assert framed["rows"][name]["knn_accuracy"] == plain["rows"][name]["knn_accuracy"]
    assert all(isinstance(Z, np.ndarray) for Z in framed["codes"].values())
    assert swept["rows"]["PCA"]["test_error"][1] == plain["rows"]["PCA"]["test_error"]
