"""Tests for load_array and load_data on the user's own files."""

import io

import numpy as np
import pytest
from PIL import Image

from aekit.datasets import load_array, load_data
from aekit.datasets._csv import csv_header


@pytest.mark.parametrize(
    "shape, expected, image_shape",
    [((5, 3), (5, 3), None), ((4, 6, 7), (4, 42), (6, 7)), ((2, 5, 4, 3), (2, 60), (5, 4, 3))],
)
def test_npy(tmp_path, shape, expected, image_shape):
    array = np.random.default_rng(0).random(shape)
    np.save(tmp_path / "x.npy", array)
    X, got_shape = load_array(tmp_path / "x.npy")
    assert X.shape == expected and got_shape == image_shape
    np.testing.assert_array_equal(X, array.reshape(expected))


def test_npy_mmap(tmp_path):
    np.save(tmp_path / "x.npy", np.ones((10, 4), np.float32))
    X, _ = load_array(str(tmp_path / "x.npy"), mmap=True)
    assert isinstance(X, np.memmap) and not X.flags.writeable
    ds = load_data(tmp_path / "x.npy", mmap=True)
    assert isinstance(ds.X_train.base, np.memmap) or isinstance(ds.X_train, np.memmap)


@pytest.mark.parametrize("array", [
    (np.arange(600).reshape(100, 6) % 256).astype(np.uint8),  # pixels
    np.random.default_rng(0).random((100, 6)),  # a float64 table
    np.asfortranarray(np.random.default_rng(0).random((100, 6)).astype(np.float32)),
    np.arange(600).reshape(100, 6) % 2 == 1,
    np.arange(600, dtype=np.int16).reshape(100, 6),
])
def test_npy_mmap_of_any_exact_dtype_stays_mapped(tmp_path, caplog, array):
    # a uint8 or float64 file given --mmap was read whole as float32 (1108 MB peak for 200,000 x 784 uint8 images,
    # where the estimators stream a memory map of any of these dtypes, cast to float32 a block of rows at a time)
    np.save(tmp_path / "x.npy", array)
    with caplog.at_level("WARNING", logger="aekit"):
        ds = load_data(tmp_path / "x.npy", mmap=True)
    assert isinstance(ds.X_train, np.memmap) and ds.X_train.dtype == array.dtype
    np.testing.assert_array_equal(ds.X_train, array)
    assert ds.X_test.shape == (0, 6)
    assert "read whole into memory" not in caplog.text
    np.testing.assert_array_equal(load_data(tmp_path / "x.npy").X_train, array.astype(np.float32))


@pytest.mark.parametrize("array, says", [
    (np.ones((1000, 50), np.float16), "holds float16, so it is read whole into memory (0.2 MB as float32), not "
                                      "memory-mapped: float16 is not among the dtypes streamed"),
    (np.ones((1000, 50), ">f4" if np.little_endian else "<f4"), "stored in the other byte order"),
    (np.asfortranarray(np.ones((100, 5, 10), np.float32)), "its images are stored Fortran-ordered, so flattening"),
])
def test_npy_mmap_that_cannot_stream_says_it_is_loaded(tmp_path, caplog, array, says):
    # a file given --mmap that is read whole (as float32) says so, and why: data larger than memory ran out of
    # memory instead of streaming without a word
    np.save(tmp_path / "x.npy", array)
    with caplog.at_level("WARNING", logger="aekit"):
        ds = load_data(tmp_path / "x.npy", mmap=True)
    assert not isinstance(ds.X_train, np.memmap) and ds.X_train.dtype == np.float32
    assert says in caplog.text and "numpy.lib.format.open_memmap" in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING", logger="aekit"):
        load_data(tmp_path / "x.npy")  # not asked to stream: nothing to say
        np.save(tmp_path / "y.npy", np.ones((10, 4), np.float32))
        assert isinstance(load_data(tmp_path / "y.npy", mmap=True).X_train, np.memmap)
    assert "read whole into memory" not in caplog.text


def test_npz(tmp_path):
    np.savez(tmp_path / "one.npz", data=np.ones((3, 2)))
    np.savez(tmp_path / "named.npz", X=np.zeros((3, 2)), y=np.arange(3))
    np.testing.assert_array_equal(load_array(tmp_path / "one.npz")[0], np.ones((3, 2)))
    np.testing.assert_array_equal(load_array(tmp_path / "named.npz")[0], np.zeros((3, 2)))


def test_npz_ambiguous(tmp_path):
    np.savez(tmp_path / "two.npz", a=np.ones((3, 2)), b=np.ones((3, 2)))
    with pytest.raises(ValueError, match=r"two.npz holds 2 arrays \['a', 'b'\]; expected one array, or one named 'X'"):
        load_array(tmp_path / "two.npz")


@pytest.mark.parametrize("header", ["", "a,b,c\n"])
def test_csv(tmp_path, header):
    (tmp_path / "x.csv").write_text(header + "1,2,3\n4.5,-6,7e-1\n\n")
    X, image_shape = load_array(tmp_path / "x.csv")
    assert image_shape is None and X.dtype == np.float32
    np.testing.assert_array_equal(X, np.float32([[1, 2, 3], [4.5, -6, 0.7]]))


def test_csv_single_column(tmp_path):
    (tmp_path / "x.csv").write_text("value\n1\n2\n")
    np.testing.assert_array_equal(load_array(tmp_path / "x.csv")[0], [[1], [2]])


@pytest.mark.parametrize(
    "text, match",
    [
        ("a,b\n1,2\n3,oops\n", r"x.csv: row 3, column 2 is not a number: 'oops'"),
        ("1,2,3\n4,5\n", r"x.csv is ragged: row 2 has 2 columns, expected 3 \(as row 1\)"),
        ("h1,h2\n", r"x.csv is empty: no data rows"),
        ("", r"x.csv is empty: no data rows"),
    ],
)
def test_csv_errors(tmp_path, text, match):
    (tmp_path / "x.csv").write_text(text)
    with pytest.raises(ValueError, match=match):
        load_array(tmp_path / "x.csv")


@pytest.mark.parametrize("token", ["", "NA", "n/a", "NaN", "nan", "null", "None", "?", " NA "])
def test_csv_missing_cells_are_nan(tmp_path, token):
    (tmp_path / "x.csv").write_text(f"a,b,c\n1,{token},3\n4,5,6\n")
    X, _ = load_array(tmp_path / "x.csv")
    assert X.dtype == np.float32
    np.testing.assert_array_equal(X, [[1, np.nan, 3], [4, 5, 6]])


def test_csv_first_row_with_a_missing_cell_is_data_not_a_header(tmp_path):
    (tmp_path / "x.csv").write_text("1,,3\n4,5,6\n")
    np.testing.assert_array_equal(load_array(tmp_path / "x.csv")[0], [[1, np.nan, 3], [4, 5, 6]])
    assert csv_header(tmp_path / "x.csv") is None
    (tmp_path / "y.csv").write_text("id,size\n1,2\n")
    assert csv_header(tmp_path / "y.csv") == ["id", "size"]


def test_csv_binary_file(tmp_path):
    (tmp_path / "x.csv").write_bytes(b"\xff\xfe\x00binary")
    with pytest.raises(ValueError, match=r"x.csv is not a text CSV file"):
        load_array(tmp_path / "x.csv")


def save_images(directory, arrays, suffix=".png"):
    directory.mkdir(exist_ok=True)
    for i, array in enumerate(arrays):
        Image.fromarray(array).save(directory / f"img{i:02d}{suffix}")


def test_grey_image_folder(tmp_path):
    arrays = [np.full((6, 5), 10 * i, np.uint8) for i in range(12)]
    arrays[3][0, 0] = 255
    save_images(tmp_path / "imgs", arrays)
    (tmp_path / "imgs" / "notes.txt").write_text("ignored")
    X, image_shape = load_array(tmp_path / "imgs")
    assert image_shape == (6, 5) and X.shape == (12, 30) and X.dtype == np.float32
    np.testing.assert_array_equal(X[:, 1], np.float32([10 * i for i in range(12)]) / 255)  # file-name order
    assert X[3, 0] == 1.0


@pytest.mark.parametrize("suffix", [".png", ".bmp", ".tif"])
def test_rgb_image_folder(tmp_path, suffix):
    arrays = [np.random.default_rng(i).integers(0, 256, (4, 7, 3), dtype=np.uint8) for i in range(3)]
    save_images(tmp_path / "imgs", arrays, suffix)
    X, image_shape = load_array(tmp_path / "imgs")
    assert image_shape == (4, 7, 3)
    np.testing.assert_allclose(X, np.stack(arrays).reshape(3, -1) / 255, atol=1e-7)


def test_webp_images_in_a_folder_are_read_as_aekit_denoise_reads_them(tmp_path):
    # load_array skipped .webp files without a word (a mixed folder lost them; a WebP one was "a directory
    # without images"), while aekit train-denoiser and aekit denoise read the same folder's WebP images
    arrays = [np.random.default_rng(i).integers(0, 256, (4, 7, 3), dtype=np.uint8) for i in range(3)]
    save_images(tmp_path / "imgs", arrays[:2])
    Image.fromarray(arrays[2]).save(tmp_path / "imgs" / "img02.webp", lossless=True)
    X, image_shape = load_array(tmp_path / "imgs")
    assert image_shape == (4, 7, 3) and X.shape == (3, 84)
    np.testing.assert_allclose(X, np.stack(arrays).reshape(3, -1) / 255, atol=1e-7)


def test_hidden_files_in_an_image_folder_are_left_out(tmp_path):
    # macOS writes ._name.png (metadata, not a PNG) beside each file copied to a FAT or network drive: load_array
    # stopped at it ("is not an image Pillow can read")
    arrays = [np.random.default_rng(i).integers(0, 256, (4, 7), dtype=np.uint8) for i in range(2)]
    save_images(tmp_path / "imgs", arrays)
    (tmp_path / "imgs" / "._img00.png").write_bytes(b"\x00\x05\x16\x07 AppleDouble")
    (tmp_path / "imgs" / ".DS_Store").write_bytes(b"Bud1")
    X, image_shape = load_array(tmp_path / "imgs")
    assert image_shape == (4, 7) and X.shape == (2, 28)
    np.testing.assert_allclose(X, np.stack(arrays).reshape(2, -1) / 255, atol=1e-7)


def test_the_folder_listing_reads_every_suffix_the_image_module_reads():
    # aekit.datasets may not import the rest of aekit, so the suffixes are written twice: they must agree
    from aekit._image_files import IMAGE_SUFFIXES
    from aekit.datasets._files import IMAGE_SUFFIXES as LISTED

    assert sorted(LISTED) == sorted(IMAGE_SUFFIXES)


def test_image_folder_jpeg(tmp_path):
    save_images(tmp_path / "imgs", [np.full((8, 8), 128, np.uint8)] * 2, ".jpg")
    X, image_shape = load_array(tmp_path / "imgs")
    assert image_shape == (8, 8) and np.allclose(X, 128 / 255, atol=0.02)


def test_image_folder_size_mismatch(tmp_path):
    save_images(tmp_path / "imgs", [np.zeros((6, 5), np.uint8), np.zeros((6, 5), np.uint8), np.zeros((7, 5), np.uint8)])
    with pytest.raises(ValueError, match=r"img02.png is \(7, 5\) in mode 'L' but img00.png is \(6, 5\) in mode 'L'; all images must have the same size and mode"):
        load_array(tmp_path / "imgs")


def test_image_folder_mode_mismatch(tmp_path):
    save_images(tmp_path / "imgs", [np.zeros((6, 5), np.uint8), np.zeros((6, 5, 3), np.uint8)])
    with pytest.raises(ValueError, match=r"img01.png is \(6, 5, 3\) in mode 'RGB' but img00.png is \(6, 5\) in mode 'L'"):
        load_array(tmp_path / "imgs")


def test_image_folder_unsupported_mode(tmp_path):
    (tmp_path / "imgs").mkdir()
    Image.new("CMYK", (5, 6)).save(tmp_path / "imgs" / "img00.jpg")
    with pytest.raises(ValueError, match=r"img00.jpg has image mode 'CMYK'; supported modes are"):
        load_array(tmp_path / "imgs")


def test_image_folder_corrupt_file(tmp_path):
    save_images(tmp_path / "imgs", [np.zeros((6, 5), np.uint8)])
    (tmp_path / "imgs" / "img01.png").write_bytes(b"not a png")
    with pytest.raises(ValueError, match=r"img01.png is not an image Pillow can read"):
        load_array(tmp_path / "imgs")


def test_empty_directory(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match=r"empty is a directory without images; expected files ending in"):
        load_array(tmp_path / "empty")


@pytest.mark.parametrize(
    "array, match",
    [
        (np.zeros((0, 3)), r"x.npy is empty \(shape \(0, 3\)\)"),
        (np.arange(5), r"x.npy holds an array of shape \(5,\); expected \(n_samples, n_features\)"),
        (np.zeros((2, 3, 4, 5)), r"x.npy holds an array of shape \(2, 3, 4, 5\)"),
        (np.array([["a", "b"]]), r"x.npy holds <U1 data; expected numbers"),
    ],
)
def test_bad_arrays(tmp_path, array, match):
    np.save(tmp_path / "x.npy", array)
    with pytest.raises(ValueError, match=match):
        load_array(tmp_path / "x.npy")


def test_object_array_refused(tmp_path):
    np.save(tmp_path / "x.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(ValueError, match=r"x.npy is not a valid .npy file"):
        load_array(tmp_path / "x.npy")


@pytest.mark.parametrize("name", ["x.npy", "x.npz"])
def test_corrupt_numpy_file(tmp_path, name):
    (tmp_path / name).write_bytes(b"garbage")
    with pytest.raises(ValueError, match=rf"{name} is not a valid \.np[yz] file"):
        load_array(tmp_path / name)


def test_unknown_extension(tmp_path):
    (tmp_path / "x.parquet").write_bytes(b"")
    with pytest.raises(ValueError, match=r"x.parquet has an unknown extension '.parquet'; supported are \('.npy', '.npz', '.csv'\)"):
        load_array(tmp_path / "x.parquet")


def test_missing_path(tmp_path):
    with pytest.raises(FileNotFoundError, match="No such file or directory: .*missing.npy"):
        load_array(tmp_path / "missing.npy")


def test_load_data_wraps_a_file(tmp_path):
    np.save(tmp_path / "faces.npy", np.random.default_rng(0).random((7, 4, 4)))
    ds = load_data(str(tmp_path / "faces.npy"))
    assert ds.X_train.shape == (7, 16) and ds.X_test.shape == (0, 16)
    assert ds.X_train.dtype == np.float32 and ds.y_train is None and ds.y_test is None
    assert ds.image_shape == (4, 4) and ds.name == "faces.npy"
    assert "7 samples" in ds.description


def test_load_data_unknown_source(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"'nosuch' is neither a dataset name \(digits, fashion-mnist, mnist, olivetti\) nor an existing file"):
        load_data("nosuch")


_CELLS = ["1", "-2.5", "3e-2", " 4 ", "+5", "", "NaN", "-nan", " nan "]  # numbers and what numpy reads as NaN
_WORDS = ["NA", " n/a ", "?", "none", "NULL", "#N/A", "<NA>"]  # the other missing-value words


@pytest.mark.parametrize("words", [False, True], ids=["numbers-and-empty-cells", "missing-value-words"])
@pytest.mark.parametrize("seed", range(8))
def test_csv_reads_every_cell_as_the_per_cell_path_does(tmp_path, seed, words, monkeypatch):
    # numbers and empty cells go through numpy.loadtxt (the per-cell Python path, 1.9x the CPU time, is the
    # reference and is not reached); other missing-value words take the per-cell path
    import csv

    import aekit.datasets._csv as files

    rng = np.random.default_rng(seed)
    pool = _CELLS + (_WORDS if words else [])
    n_rows, n_cols = int(rng.integers(1, 6)), int(rng.integers(1, 6))
    grid = [[pool[i] for i in rng.integers(0, len(pool), n_cols)] for _ in range(n_rows)]
    if n_cols == 1:  # a lone empty cell is an empty line, which CSV readers skip
        grid = [[cell or "1"] for (cell,) in grid]
    grid[0][0] = "7"  # a number: a header is only ever the named one below
    if words:
        grid[-1][-1] = "NA"
    header = ",".join(f"c{j}" for j in range(n_cols)) + "\n" if seed % 2 else ""
    newline = "\r\n" if seed % 3 == 0 else "\n"
    text = header.replace("\n", newline) + newline.join(",".join(row) for row in grid) + (newline if seed % 4 else "")
    (tmp_path / "x.csv").write_bytes(text.encode())
    rows = [row for row in csv.reader(io.StringIO(text, newline="")) if row][bool(header):]
    expected = np.float32([[files._cell(cell) for cell in row] for row in rows])
    if not words:
        monkeypatch.setattr(files, "_csv_rows", lambda path: pytest.fail("the per-cell path read the file"))
    np.testing.assert_array_equal(load_array(tmp_path / "x.csv")[0], expected)
