"""Tables as a data scientist brings them: CSV files with headers, IDs, text columns and European
conventions, DataFrames through scikit-learn's pipelines, and the CLI on them.

Each test is a defect found by using aekit on scikit-learn's bundled tables (wine, diabetes, iris,
breast cancer) written out as pandas writes them; models are tiny.
"""

import csv

import numpy as np
import pytest

from aekit import AutoencoderImputer, load
from aekit.cli import main
from aekit.datasets import load_array

TINY = {"n_components": 2, "hidden_layer_sizes": (8,), "max_epochs": 2, "random_state": 0, "verbose": False}


def _one_line_error(capsys, command):
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"aekit {command}: error: ") and "\n" not in err and "Traceback" not in err, err
    return err


@pytest.fixture(scope="module")
def diabetes_table(tmp_path_factory):
    """Diabetes with an ID column of 9-digit integers, a header name holding a comma, and holes."""
    pd = pytest.importorskip("pandas")
    from sklearn.datasets import load_diabetes

    frame = load_diabetes(as_frame=True).frame.iloc[:80]
    frame.insert(0, "zip, code", np.arange(len(frame)) + 123456789)
    holes = np.random.default_rng(0).random(frame.shape) < 0.1
    holes[:, 0] = False
    frame = frame.mask(holes)
    path = tmp_path_factory.mktemp("tables") / "diabetes.csv"
    frame.to_csv(path, index=False)  # 17-digit floats, the first header name quoted
    model = path.parent / "imputer"
    AutoencoderImputer(**TINY).fit(frame.to_numpy(np.float32)).save(model)
    assert isinstance(frame, pd.DataFrame)
    return path, model


# ---------------------------------------------------------------- aekit impute writes the table it read
def test_impute_writes_observed_cells_and_header_back_verbatim(diabetes_table, tmp_path):
    # it wrote every cell from float32: the IDs became 1.2345679e+08, 0.038075906433423026 became
    # 0.038075905, and the header name "zip, code" went out unquoted, so the header had one column too many
    path, model = diabetes_table
    out = tmp_path / "filled.csv"
    assert main(["impute", str(model), str(path), "--out", str(out), "--quiet"]) == 0
    with open(path, newline="") as fh:
        original = list(csv.reader(fh))
    with open(out, newline="") as fh:
        filled = list(csv.reader(fh))
    assert filled[0] == original[0] and len(filled) == len(original)
    X, _ = load_array(path)
    expected = load(model).transform(X)
    for i, (before, after) in enumerate(zip(original[1:], filled[1:])):
        assert len(after) == len(before)
        for j, (a, b) in enumerate(zip(before, after)):
            if a == "":
                assert float(b) == pytest.approx(float(expected[i, j]), rel=1e-6)
            else:
                assert b == a, (i, j)


# ---------------------------------------------------------------- the CSV reader: what pandas writes
def test_a_text_column_is_named_by_its_header(tmp_path):
    # "row 2, column 15 is not a number: 'lyon'": the user had to count the columns to find 'city'
    path = tmp_path / "wine.csv"
    path.write_text("id,alcohol,city\n1001,14.23,lyon\n1002,13.2,paris\n")
    with pytest.raises(ValueError, match=r"wine.csv: row 2, column 3 is not a number: 'lyon' \(column 'city': "
                                         r"drop .*or encode"):
        load_array(path)


def test_a_utf8_bom_is_not_part_of_the_first_cell(tmp_path):
    # Excel's "CSV UTF-8" starts with a BOM: a file without header lost its first row (read as a header,
    # since '\ufeff1.5' is not a number), and a header's first name began with '\ufeff'
    from aekit.datasets._csv import csv_header

    (tmp_path / "x.csv").write_bytes(b"\xef\xbb\xbf1.5,2.5\r\n3,4\r\n")
    np.testing.assert_array_equal(load_array(tmp_path / "x.csv")[0], [[1.5, 2.5], [3, 4]])
    (tmp_path / "y.csv").write_bytes("\ufeffalcohol,ash\n1,2\n".encode())
    assert csv_header(tmp_path / "y.csv") == ["alcohol", "ash"]


@pytest.mark.parametrize("text, options", [
    ("alcohol;ash\n14,23;2,43\n13,2;2,14\n", "sep=';', decimal=','"),  # Excel in much of Europe
    ("alcohol;ash\n14.23;2.43\n13.2;2.14\n", "sep=';'"),
    ("14,23;2,43\n13,2;2,14\n1;2\n", "sep=';', decimal=','"),  # no header
    ("alcohol,ash\n\"14,23\",\"2,43\"\n", "decimal=','"),  # ',' decimals, quoted
])
def test_a_european_csv_is_refused_with_what_to_do(tmp_path, text, options):
    # "row 2, column 2 is not a number: '23;2'" or "row 2, column 1 is not a number: '14.23;2.43'"
    path = tmp_path / "euro.csv"
    path.write_text(text)
    with pytest.raises(ValueError, match=rf"euro.csv looks like a European CSV .*re-save it .*"
                                         rf"pd.read_csv\(path, {options}\)"):
        load_array(path)


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be"])
def test_a_utf16_csv_is_refused_with_what_to_do(tmp_path, encoding):
    # "is not a text CSV file ('utf-8' codec can't decode byte 0xff in position 0)": it is text, in UTF-16, as
    # Windows PowerShell 5's "python make_table.py > table.csv" writes it
    path = tmp_path / "u16.csv"
    path.write_bytes(("\ufeff" if encoding == "utf-16-be" else "").encode(encoding) + "a,b\n1,2\n".encode(encoding))
    with pytest.raises(ValueError, match=r"u16.csv is a UTF-16 text file; aekit reads CSV files in UTF-8: re-save"):
        load_array(path)


@pytest.mark.parametrize("text, what, sep", [
    ("1.5\t2\n3\t4\n", "tabs", r"sep='\\t'"),  # a .tsv saved as .csv, no header
    ("alcohol\tash\n14.2\t\t2.4\n13.2\t1\t2.1\n", "tabs", r"sep='\\t'"),  # header, an empty cell
    ("1 2 3\n4 5 6\n", "spaces", r"sep=r'\\s\+'"),  # np.savetxt's default
])
def test_a_tab_or_space_separated_file_is_refused_with_what_to_do(tmp_path, text, what, sep):
    # its first row passed for a header, then "row 2, column 1 is not a number: '3\t4' (column '1.5\t2': drop
    # text columns such as IDs or names, ...)": advice for another problem
    path = _write(tmp_path / "t.csv", text)
    with pytest.raises(ValueError, match=rf"t.csv separates its cells with {what}, not ','; .*pd.read_csv\(path, "
                                         rf"{sep}\)"):
        load_array(path)


@pytest.mark.parametrize("cell, what", [("1e39", "1e39, beyond float32's range .*rescale"),
                                        ("-1e40", "-1e40, beyond float32's range .*rescale"),
                                        ("-inf", "-inf; aekit needs finite numbers: replace it, or leave the "
                                                 "cell empty")])
def test_a_value_beyond_float32_names_its_row_and_column(tmp_path, cell, what):
    # 1e39 became inf in float32 without a word; training then failed with sklearn's "Input X contains
    # infinity or a value too large for dtype('float32')", naming neither the file nor the cell
    path = tmp_path / "big.csv"
    path.write_text(f"alcohol,proline\n14.2,1065\n13.2,{cell}\n")
    with pytest.raises(ValueError, match=rf"big.csv: row 3, column 2 \('proline'\) holds {what}"):
        load_array(path)
    np.testing.assert_array_equal(load_array(_write(tmp_path / "ok.csv", "a\n1e30\n-3e38\n"))[0],
                                  np.float32([[1e30], [-3e38]]))


def _write(path, text):
    path.write_text(text)
    return path


# ---------------------------------------------------------------- a column with no value at all
def test_imputer_names_an_empty_column_of_a_dataframe():
    # "X has no observed value in column(s) 4": counted from 0, unlike the CSV reader's columns, and
    # without the name the DataFrame gave
    pd = pytest.importorskip("pandas")
    from sklearn.datasets import load_iris

    frame = load_iris(as_frame=True).frame.drop(columns="target")
    frame["empty"] = np.nan
    with pytest.raises(ValueError, match=r"column\(s\) 4 \(1 of 5\); .*Drop those columns first \('empty'; "
                                         r"numbers count from 0\)"):
        AutoencoderImputer(**TINY).fit(frame)
    assert isinstance(frame, pd.DataFrame)


def test_train_names_an_empty_csv_column_by_its_header(tmp_path, capsys):
    path = _write(tmp_path / "iris.csv", "sepal,petal,empty\n1,2,\n3,,NA\n4,5,\n")
    assert main(["train", str(path), "--model", "imputer", "--out", str(tmp_path / "m"), "--quiet"]) == 2
    err = _one_line_error(capsys, "train")
    assert "iris.csv: column 3 ('empty') has no value in any row; drop it first" in err, err


# ---------------------------------------------------------------- DataFrames
@pytest.mark.parametrize("estimator", ["Autoencoder", "AutoencoderImputer"])
def test_a_dataframe_text_column_is_named(estimator):
    # sklearn's "could not convert string to float: 'lyon'" did not say which column
    pd = pytest.importorskip("pandas")
    import aekit

    frame = pd.DataFrame({"alcohol": [14.2, 13.2, 13.1], "city": ["lyon", "paris", "lyon"],
                          "kind": pd.Categorical(["a", "b", "a"]), "ash": [2.4, 2.1, 2.6]})
    with pytest.raises(ValueError, match=r"X has non-numeric columns \['city', 'kind'\]; encode them .*"
                                         r"OneHotEncoder.*ColumnTransformer.*or drop them"):
        getattr(aekit, estimator)(**TINY).fit(frame)


# ---------------------------------------------------------------- found right: kept as regression tests
def test_errors_puts_a_corrupted_row_first(tmp_path, capsys):
    from sklearn.datasets import load_breast_cancer

    X = load_breast_cancer().data
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    np.savetxt(tmp_path / "train.csv", X, delimiter=",")
    X[100, 5] = 15.0  # one cell 15 standard deviations off
    np.savetxt(tmp_path / "new.csv", X, delimiter=",")
    assert main(["train", str(tmp_path / "train.csv"), "--out", str(tmp_path / "m"), "--n-components", "4",
                 "--hidden-layer-sizes", "16", "--max-epochs", "10", "--random-state", "0", "--quiet"]) == 0
    capsys.readouterr()
    assert main(["errors", str(tmp_path / "m"), str(tmp_path / "new.csv"), "--out", str(tmp_path / "e.npy"),
                 "--top", "1"]) == 0
    # the row counts from 0 as in e.npy; the line is where it is in the file (np.savetxt writes no header)
    assert "largest (row (line in new.csv): error): 100 (line 101): " in capsys.readouterr().out
    assert int(np.argmax(np.load(tmp_path / "e.npy"))) == 100
    # a header and a blank line move the rows down the file
    lines = (tmp_path / "new.csv").read_text().splitlines()
    (tmp_path / "named.csv").write_text("\n".join([",".join(f"c{j}" for j in range(X.shape[1])), *lines[:50], "",
                                                   *lines[50:]]) + "\n")
    assert main(["errors", str(tmp_path / "m"), str(tmp_path / "named.csv"), "--out", str(tmp_path / "f.npy"),
                 "--top", "1"]) == 0
    assert "largest (row (line in named.csv): error): 100 (line 103): " in capsys.readouterr().out


def test_a_csv_with_pandas_index_column_is_read_with_a_warning(tmp_path, caplog):
    import pandas as pd

    from aekit.datasets import load_array

    frame = pd.DataFrame(np.random.default_rng(0).random((6, 3)), columns=["a", "b", "c"])
    frame.to_csv(tmp_path / "with_index.csv")  # pandas' default: the index first, under an empty header cell
    X, _ = load_array(tmp_path / "with_index.csv")
    assert X.shape == (6, 4)
    assert "the first column (unnamed) counts the rows (0, 1, 2, ...)" in caplog.text
    caplog.clear()
    frame.to_csv(tmp_path / "clean.csv", index=False)
    load_array(tmp_path / "clean.csv")
    assert "counts the rows" not in caplog.text


def test_pandas_default_column_names_are_a_header_not_a_row(tmp_path, caplog):
    import pandas as pd

    from aekit.datasets import load_array

    X = np.random.default_rng(0).random((5, 4))
    pd.DataFrame(X).to_csv(tmp_path / "plain.csv", index=False)  # header "0,1,2,3": pandas' default names
    loaded, _ = load_array(tmp_path / "plain.csv")
    np.testing.assert_allclose(loaded, X, rtol=1e-6)  # 5 rows, not 6 with a first row of 0, 1, 2, 3
    assert "its first row, 0,1,2,...,3, is read as a header" in caplog.text
    (tmp_path / "counts.csv").write_text("0,1,2,5\n2,3,4,5\n")  # not exactly 0, 1, 2, 3: data
    assert load_array(tmp_path / "counts.csv")[0].shape == (2, 4)
    (tmp_path / "binary.csv").write_text("0,1,2\n1,0,1\n")  # three columns: too few to tell, data
    assert load_array(tmp_path / "binary.csv")[0].shape == (2, 3)


def test_pandas_default_column_names_over_an_index_are_a_header_and_the_index_is_warned_about(tmp_path, caplog):
    # pd.DataFrame(X).to_csv(path), pandas' default, writes ",0,1,2,3" over an index column: that first row was
    # read as data with a missing first cell, so aekit train refused the file as holding NaN, with no word of
    # the index the README promises a warning about
    import pandas as pd

    from aekit.datasets import load_array

    X = np.random.default_rng(0).random((5, 4))
    pd.DataFrame(X).to_csv(tmp_path / "indexed.csv")
    loaded, _ = load_array(tmp_path / "indexed.csv")
    np.testing.assert_allclose(loaded, np.c_[np.arange(5), X], rtol=1e-6)  # 5 rows, no NaN; the index kept
    assert "its first row, ,0,1,2,...,3, is read as a header" in caplog.text
    assert "the first column (unnamed) counts the rows (0, 1, 2, ...)" in caplog.text
    (tmp_path / "missing.csv").write_text(",0,1\n2,3,4\n")  # three columns: a data row with a missing cell
    assert load_array(tmp_path / "missing.csv")[0].shape == (2, 3)


def test_a_column_float32_cannot_resolve_is_warned_about_with_its_name(tmp_path, caplog):
    # aekit stores data as float32: a column 1e8 + N(0, 1) (a level with a small spread, as Unix times in ms or
    # IDs are) collapsed to one value, and the imputer filled it with no more than its mean, without a word
    rng = np.random.default_rng(0)
    a = rng.normal(size=200)
    X = np.c_[a, 1e8 + a, 123.0 + rng.normal(size=200), 1.7e9 + np.sort(rng.uniform(0, 3 * 86400, 200))]
    lines = ["a,level,ordinary,unix_time"] + [",".join(f"{v:.4f}" for v in row) for row in X]
    (tmp_path / "level.csv").write_text("\n".join(lines) + "\n")
    loaded, _ = load_array(tmp_path / "level.csv")
    assert loaded.dtype == np.float32 and np.unique(loaded[:, 1]).size < 5  # what float32 keeps of it
    text = caplog.text
    assert "level.csv: column 2 ('level') varies little for its size (around 1e+08, spread 0.9" in text, text
    assert "loses 100% of that spread" in text and "(and" not in text  # unix_time over 3 days loses 0.05%: fine
    caplog.clear()
    np.save(tmp_path / "level.npy", X)  # a float64 array read into a Dataset (aekit train), stored float32
    from aekit.datasets import load_data

    assert load_data(tmp_path / "level.npy").X_train.dtype == np.float32
    assert "level.npy: column 2 varies little for its size" in caplog.text
    caplog.clear()
    ordinary = np.c_[X[:, [0, 2]], np.full(200, 0.1), np.full(200, 1e8 + 0.3)]  # constants: no spread to lose
    ordinary[::7, 0] = np.nan
    (tmp_path / "ordinary.csv").write_text("\n".join(",".join(f"{v:.4f}" for v in row) for row in ordinary))
    big = tmp_path / "big.csv"
    big.write_text("a,b\n1,2\n3,1e39\n")  # beyond float32 still stops with the cell named
    assert load_array(tmp_path / "ordinary.csv")[0].shape == (200, 4)
    assert "varies little" not in caplog.text
    with pytest.raises(ValueError, match=r"big.csv: row 3, column 2 \('b'\) holds 1e39, beyond float32's range"):
        load_array(big)
