"""Property tests with hostile arrays: every public method of every estimator, and the file loaders.

Each call either works correctly (right shape and dtype, finite output for
finite moderate input) or raises a ValueError/TypeError with a message,
never an error from inside torch, never a hang. The estimators are every
class registered for ``aekit train --model`` (``aekit.cli._flags.models``),
so estimators added later are covered too. Tiny networks, one epoch, few
examples: the whole file runs in well under two minutes.
"""

import contextlib
import gzip
import signal
import struct
import tempfile
import traceback
import warnings
import zlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from aekit import load
from aekit.cli._flags import models
from aekit.datasets import load_array, load_idx

# Every registered model with the autoencoder contract (NaN rejected, transform = encode).
# The imputer accepts NaN by design and transforms X into X; tests/test_impute.py
# covers its contract (parametrize_with_checks with allow_nan).
MODELS = {name: cls for name, cls in models().items() if not cls().__sklearn_tags__().input_tags.allow_nan}
SMALL = dict(n_components=2, hidden_layer_sizes=(4,), max_epochs=1, batch_size=4, random_state=0, verbose=False,
             device="cpu")
PROPERTY = settings(max_examples=30, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.filter_too_much])
HANG_SECONDS = 30


def make(cls, **extra):
    """The estimator with tiny settings (only those it has)."""
    params = cls().get_params(deep=False)
    return cls(**{k: v for k, v in {**SMALL, **extra}.items() if k in params})


def allows_nan(cls) -> bool:
    return cls().__sklearn_tags__().input_tags.allow_nan


@contextlib.contextmanager
def no_hang(seconds=HANG_SECONDS):
    def timeout(signum, frame):
        raise AssertionError(f"no answer within {seconds} s: a hang")

    previous = signal.signal(signal.SIGALRM, timeout)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def outcome(call):
    """Run ``call``; return (result, None) or (None, error) for a documented ValueError/TypeError."""
    with no_hang(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return call(), None
        except (ValueError, TypeError) as err:
            frames = traceback.extract_tb(err.__traceback__)
            deep = [f for f in frames if "/torch/" in f.filename]
            assert not deep, f"{type(err).__name__} from inside torch: {err} at {deep[-1].filename}:{deep[-1].lineno}"
            assert str(err).strip(), f"{type(err).__name__} without a message"
            return None, err


# ------------------------------------------------------------------ arrays
NUMERIC = [np.float16, np.float32, np.float64, np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint64,
           np.bool_]
SPECIAL = [np.nan, np.inf, -np.inf, 0.0, -0.0, 1e4, -1e4, 6.5e4, 1e30, -1e38, 1e-30]


@st.composite
def hostile_arrays(draw, n=st.integers(0, 9), d=st.integers(0, 5)):
    """Arrays of many dtypes and shapes, with NaN/inf and huge values in random places."""
    rank = draw(st.sampled_from([2] * 6 + [1, 3]))
    shape = {1: st.tuples(st.integers(0, 6)), 2: st.tuples(n, d),
             3: st.tuples(st.integers(1, 3), st.integers(1, 3), st.integers(1, 3))}[rank]
    shape = draw(shape)
    kind = draw(st.sampled_from(["numeric"] * 6 + ["list", "complex", "object", "object_str"]))
    if kind in ("numeric", "list"):
        dtype = np.dtype(draw(st.sampled_from(NUMERIC)))
        if dtype.kind == "f":
            elements = st.floats(-1e3, 1e3, width=min(dtype.itemsize * 8, 64))
        else:
            elements = None
        A = draw(hnp.arrays(dtype, shape, elements=elements))
        if dtype.kind == "f" and A.size and draw(st.booleans()):
            flat = A.reshape(-1)
            for i in draw(st.lists(st.integers(0, A.size - 1), min_size=1, max_size=3)):
                with np.errstate(over="ignore"):
                    flat[i] = dtype.type(draw(st.sampled_from(SPECIAL)))
        return A.tolist() if kind == "list" else A
    if kind == "complex":
        real = draw(hnp.arrays(np.float64, shape, elements=st.floats(-10, 10)))
        return real + 1j * draw(st.sampled_from([0.0, 1.0]))
    A = draw(hnp.arrays(np.float64, shape, elements=st.floats(-10, 10))).astype(object)
    if kind == "object_str" and A.size:
        A.reshape(-1)[draw(st.integers(0, A.size - 1))] = draw(st.sampled_from(["a", "", None, b"x", [1]]))
    return A


def clean(A) -> np.ndarray | None:
    """A as a finite float64 2-D array of moderate values, or None if it is not one."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            F = np.asarray(A, dtype=np.float64)
    except (ValueError, TypeError):
        return None
    if np.asarray(A).dtype.kind in "cOUSMm" or F.ndim != 2 or 0 in F.shape:
        return None
    return F if np.isfinite(F).all() and np.abs(F).max() <= 1e3 else None


def check_must_reject(cls, A, err):
    """Inputs every estimator refuses (NaN only where the estimator takes missing values)."""
    dtype = np.asarray(A, dtype=object).dtype if isinstance(A, list) else A.dtype
    if isinstance(A, np.ndarray) and (A.ndim != 2 or 0 in A.shape or dtype.kind == "c"):
        assert err is not None, f"{cls.__name__} accepted an array of shape {A.shape}, dtype {dtype}"
    if isinstance(A, np.ndarray) and dtype.kind == "f" and np.isinf(A).any():
        assert err is not None, f"{cls.__name__} accepted inf"
    if isinstance(A, np.ndarray) and dtype.kind == "f" and np.isnan(A).any() and not allows_nan(cls):
        assert err is not None, f"{cls.__name__} accepted NaN"


@pytest.fixture(scope="module")
def fitted():
    """Each model fitted once on clean (12, 4) data."""
    X = np.random.default_rng(0).random((12, 4))
    return {name: make(cls).fit(X) for name, cls in MODELS.items()}


@pytest.mark.parametrize("name", sorted(MODELS))
def test_every_model_fits_clean_data_with_the_tiny_settings(name, fitted):
    """Otherwise the properties below would pass by rejecting everything."""
    assert fitted[name].transform(np.zeros((2, 4))).shape == (2, fitted[name].n_components)


@pytest.mark.parametrize("name", sorted(MODELS))
@PROPERTY
@given(A=hostile_arrays())
def test_fit_and_fit_transform(name, A):
    cls = MODELS[name]
    est, err = outcome(lambda: make(cls).fit(A))
    check_must_reject(cls, A, err)
    if err is None:
        n_features = np.asarray(A, dtype=object).shape[1]
        assert est.n_features_in_ == n_features and hasattr(est, "net_")
        assert len(est.loss_curve_) == est.n_iter_ == 1
        Z, err2 = outcome(lambda: make(cls).fit_transform(A))
        assert err2 is None, f"fit worked but fit_transform raised {err2!r}"
        assert Z.shape == (np.asarray(A, dtype=object).shape[0], est.n_components) and Z.dtype == np.float32
    if clean(A) is not None and clean(A).shape[0] >= 1 and not err:
        assert np.isfinite(est.transform(A)).all()


@pytest.mark.parametrize("name", sorted(MODELS))
@pytest.mark.parametrize("method", ["transform", "reconstruct", "predict", "score"])
@PROPERTY
@given(A=hostile_arrays(d=st.sampled_from([4, 4, 4, 3])))
def test_inference_methods(name, method, A, fitted):
    est = fitted[name]
    result, err = outcome(lambda: getattr(est, method)(A))
    check_must_reject(type(est), A, err)
    shape = np.asarray(A, dtype=object).shape
    if len(shape) == 2 and shape[1] not in (0, 4) and shape[0] > 0:
        assert err is not None
        if clean(A) is not None:
            assert "X has 3 features, but" in str(err)
    if err is not None:
        return
    if method == "score":
        assert isinstance(result, float)
    else:
        width = est.n_components if method == "transform" else 4
        assert result.shape == (shape[0], width) and result.dtype == np.float32
    if clean(A) is not None:
        assert np.all(np.isfinite(result))


@pytest.mark.parametrize("name", sorted(MODELS))
@PROPERTY
@given(Z=hostile_arrays(d=st.sampled_from([2, 2, 2, 3])))
def test_inverse_transform(name, Z, fitted):
    est = fitted[name]
    result, err = outcome(lambda: est.inverse_transform(Z))
    shape = np.asarray(Z, dtype=object).shape
    if isinstance(Z, np.ndarray) and (Z.ndim != 2 or 0 in Z.shape or Z.dtype.kind == "c"):
        assert err is not None
    if isinstance(Z, np.ndarray) and Z.dtype.kind == "f" and not np.isfinite(Z).all():
        assert err is not None, "inverse_transform accepted NaN/inf codes"
    if len(shape) == 2 and shape[1] not in (0, est.n_components) and shape[0] > 0:
        assert err is not None
        if clean(Z) is not None:
            assert "Z has 3 features" in str(err) and "n_components" in str(err)
    if err is None:
        assert result.shape == (shape[0], est.n_features_in_) and result.dtype == np.float32
        if clean(Z) is not None:
            assert np.isfinite(result).all()


@pytest.mark.parametrize("name", sorted(MODELS))
@settings(PROPERTY, max_examples=8)
@given(A=hostile_arrays(n=st.integers(1, 8), d=st.integers(1, 4)))
def test_save_load_round_trip(name, A):
    est, err = outcome(lambda: make(MODELS[name]).fit(A))
    assume(err is None)
    with tempfile.TemporaryDirectory() as tmp:
        est.save(Path(tmp) / "m")
        back = load(Path(tmp) / "m")
    probe = np.zeros((3, est.n_features_in_))
    np.testing.assert_array_equal(back.transform(probe), est.transform(probe))
    assert back.get_params() == est.get_params()


# ------------------------------------------------------------------ loaders
def _write(data: bytes, name: str) -> Path:
    directory = Path(tempfile.mkdtemp())
    path = directory / name
    path.write_bytes(data)
    return path


@st.composite
def idx_bytes(draw):
    """Random bytes, or an IDX-looking header (any type code, 0-4 dims, sizes up to 2**32-1) and a payload."""
    if draw(st.booleans()):
        return draw(st.binary(max_size=64))
    ndim = draw(st.integers(0, 4))
    dims = draw(st.lists(st.one_of(st.integers(0, 4), st.integers(0, 2**32 - 1)), min_size=ndim, max_size=ndim))
    code = draw(st.sampled_from([0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E, 0x01, 0xFF]))
    head = bytes([0, 0, code, ndim]) + b"".join(struct.pack(">I", d) for d in dims)
    return head + draw(st.binary(max_size=64))


@PROPERTY
@given(data=idx_bytes(), gz=st.booleans())
def test_load_idx_on_random_bytes(data, gz):
    path = _write(gzip.compress(data) if gz else data, "x-idx3-ubyte")
    result, err = outcome(lambda: load_idx(path))
    if err is None:
        assert isinstance(result, np.ndarray) and result.ndim == data[3] and result.dtype.isnative
    else:
        assert str(path) in str(err)


def _npy(header: str, payload: bytes) -> bytes:
    header += " " * (-(len(header) + 11) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() + payload


@st.composite
def array_file(draw):
    suffix = draw(st.sampled_from([".npy", ".npz", ".csv"]))
    how = draw(st.sampled_from(["random", "crafted", "real"]))
    if how == "random":
        return suffix, draw(st.binary(max_size=200))
    if suffix == ".csv":
        cells = st.sampled_from(["1", "2.5", "-3e2", "nan", "inf", "x", "", " 4 ", "1e999", "\x00", '"5"'])
        rows = draw(st.lists(st.lists(cells, min_size=1, max_size=4), max_size=5))
        return suffix, "\n".join(",".join(r) for r in rows).encode()
    if how == "crafted" and suffix == ".npy":
        shape = tuple(draw(st.lists(st.integers(0, 10**7), max_size=4)))
        descr = draw(st.sampled_from(["<f4", "<f8", "|u1", "|b1", "<c8", "|O", "<M8[D]", "bogus"]))
        return suffix, _npy(f"{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}",
                            draw(st.binary(max_size=64)))
    A = draw(hostile_arrays())
    A = np.asarray(A) if not isinstance(A, np.ndarray) else A
    buffer = tempfile.SpooledTemporaryFile()
    if A.dtype == object:
        return suffix, b"\x93NUMPY garbage"
    (np.save if suffix == ".npy" else np.savez)(buffer, A)
    buffer.seek(0)
    return suffix, buffer.read()


@PROPERTY
@given(spec=array_file(), mmap=st.booleans())
@example(spec=(".npy", _npy(f"{{'descr': '<f4', 'fortran_order': False, 'shape': ({10**12},), }}", b"\0" * 8)),
         mmap=False)  # numpy would allocate 4 TB before noticing the file is short
@example(spec=(".csv", b"1,2,3\n4,5\x006\n"), mmap=False)  # a NUL inside a number
def test_load_array_on_random_and_crafted_files(spec, mmap):
    suffix, data = spec
    path = _write(data, "x" + suffix)
    result, err = outcome(lambda: load_array(path, mmap=mmap))
    if err is None:
        X, image_shape = result
        assert X.ndim == 2 and X.shape[0] >= 1 and X.shape[1] >= 1 and X.dtype.kind in "biuf"
        assert image_shape is None or int(np.prod(image_shape)) == X.shape[1]
        if suffix == ".csv":  # every non-empty line is a row, but for an optional header
            lines = [line for line in data.split(b"\n") if line.strip(b"\r")]
            assert X.shape[0] in (len(lines), len(lines) - 1), (X.shape, lines)
    else:
        assert str(path) in str(err)


def _png(width, height, payload):
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(payload)) + chunk(b"IEND", b"")


@settings(PROPERTY, max_examples=15)
@given(width=st.integers(1, 2**31 - 1), height=st.integers(1, 2**31 - 1), payload=st.binary(max_size=64))
@example(width=200_000, height=200_000, payload=b"")  # a decompression bomb
def test_load_array_on_crafted_images(width, height, payload):
    path = _write(_png(width, height, payload), "a.png").parent
    result, err = outcome(lambda: load_array(path))
    if err is None:
        X, image_shape = result
        assert X.shape == (1, width * height) and image_shape == (height, width)
