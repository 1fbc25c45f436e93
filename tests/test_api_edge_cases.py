"""The Python API at its edges, as scikit-learn and PyTorch users meet it.

Each test pins a defect found by a bug hunt on the library (the command line
had its own, ``test_cli_edge_cases.py``): a documented behaviour that did
not hold, an error from deep inside instead of one naming the parameter, or
a silently wrong result. Real data (scikit-learn's digits and wine), tiny
trainings.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits, load_wine

import aekit
from aekit import Autoencoder, AutoencoderImputer, ImputerEnsemble

TINY = dict(n_components=4, hidden_layer_sizes=(8,), max_epochs=2, random_state=0, device="cpu")


@pytest.fixture(scope="module")
def digits():
    return (load_digits().data[:200] / 16.0).astype(np.float32)


@pytest.fixture(scope="module")
def wine_with_holes():
    X = load_wine().data
    X = (X - X.mean(0)) / X.std(0)
    X[np.random.default_rng(0).random(X.shape) < 0.15] = np.nan
    return X


@pytest.fixture(scope="module")
def fitted(digits):
    return Autoencoder(**TINY).fit(digits)


# ---------------------------------------------------------------- parameters
def test_random_state_may_be_a_random_state_instance_as_documented(digits):
    """The docstring says "int, RandomState instance or None"; fit refused the instance."""
    ae = Autoencoder(**{**TINY, "random_state": np.random.RandomState(0)}).fit(digits)
    assert ae.transform(digits).shape == (200, 4)
    with pytest.raises(ValueError, match="random_state must be >= 0"):
        Autoencoder(**{**TINY, "random_state": -1}).fit(digits)
    with pytest.raises(TypeError, match="random_state must be an int, a RandomState instance or None"):
        Autoencoder(**{**TINY, "random_state": "seed"}).fit(digits)


def test_numpy_bools_are_bools(digits, wine_with_holes, tmp_path):
    """``verbose=np.False_`` was refused with "verbose must be True or False; got np.False_"."""
    ae = Autoencoder(**TINY, verbose=np.False_).fit(digits[:50])
    assert ae.n_iter_ == 2
    assert aekit.load(ae.save(tmp_path / "model")).verbose is False  # and JSON takes it
    imp = AutoencoderImputer(**TINY, mask_input=np.True_).fit(wine_with_holes)
    assert not np.isnan(imp.transform(wine_with_holes)).any()
    with pytest.raises(TypeError, match="verbose must be True or False; got 2"):
        Autoencoder(**TINY, verbose=2).fit(digits[:50])


# ------------------------------------------------------- set_params after fit
def test_set_params_after_fit_keeps_the_fitted_model_consistent(digits):
    """As PCA does, the fitted model stays the one fitted until refit; inverse_transform and
    get_feature_names_out read the changed n_components instead and disagreed with transform."""
    ae = Autoencoder(**TINY).fit(digits)
    Z = ae.transform(digits)
    ae.set_params(n_components=6)
    assert ae.transform(digits).shape == (200, 4)
    assert ae.inverse_transform(Z).shape == (200, 64)  # was "Z has 4 features, but ... expecting 6"
    assert list(ae.get_feature_names_out()) == [f"autoencoder{i}" for i in range(4)]
    ae.fit(digits)
    assert ae.transform(digits).shape == (200, 6)
    assert len(ae.get_feature_names_out()) == 6


def test_save_refuses_parameters_changed_since_fit(digits, tmp_path):
    """save wrote the changed parameters beside the old weights: the directory could not be loaded
    (n_components), or loaded as a different model (activation) without a word."""
    ae = Autoencoder(**TINY).fit(digits)
    as_fitted = ae.get_params()
    for change in ({"n_components": 6}, {"activation": "tanh"}, {"hidden_layer_sizes": (8, 4)}):
        ae.set_params(**change)
        with pytest.raises(ValueError, match="parameters no longer describe its fitted network"):
            ae.save(tmp_path / "model")
        ae.set_params(**as_fitted)
    assert not (tmp_path / "model").exists()
    ae.set_params(max_epochs=9, verbose=False)  # training-only parameters do not change the model
    np.testing.assert_array_equal(aekit.load(ae.save(tmp_path / "model")).reconstruct(digits), ae.reconstruct(digits))


def test_ensemble_save_after_set_params_n_members(wine_with_holes, tmp_path):
    """ensemble.json said n_members=3 beside 2 members, and load refused the directory."""
    ens = ImputerEnsemble(AutoencoderImputer(**TINY), n_members=2, random_state=0).fit(wine_with_holes)
    ens.set_params(n_members=3)
    loaded = aekit.load(ens.save(tmp_path / "ens"))
    assert len(loaded.estimators_) == 2
    np.testing.assert_array_equal(loaded.transform(wine_with_holes), ens.transform(wine_with_holes))


# --------------------------------------------------------------- persistence
@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error on a machine without CUDA")
@pytest.mark.parametrize("device, match", [("cuda", "CUDA is not available"), ("tpu", "device must be 'auto'")])
def test_load_on_an_unavailable_device_says_so(fitted, tmp_path, device, match):
    """load(device="cuda") raised "AssertionError: Torch not compiled with CUDA enabled" after reading
    everything, and an unknown name a RuntimeError listing torch's device types."""
    path = fitted.save(tmp_path / "model")
    with pytest.raises(ValueError, match=match):
        aekit.load(path, device=device)
    assert aekit.load(path, device="auto").device_ == "cpu"  # "auto" as for fit (was a RuntimeError)


def test_save_does_not_replace_what_is_not_a_model(fitted, digits, tmp_path):
    """save replaces its directory whole: pointed at a folder of results (or a file) it deleted them."""
    results = tmp_path / "results"
    results.mkdir()
    (results / "notes.txt").write_text("a month of work")
    with pytest.raises(ValueError, match="not an aekit model directory"):
        fitted.save(results)
    assert (results / "notes.txt").read_text() == "a month of work"
    a_file = tmp_path / "data.npy"
    np.save(a_file, digits)
    with pytest.raises(ValueError, match="is a file"):
        fitted.save(a_file)
    np.testing.assert_array_equal(np.load(a_file), digits)
    ens = ImputerEnsemble(AutoencoderImputer(**TINY), n_members=1, random_state=0).fit(
        np.where(digits > 0.9, np.nan, digits))
    with pytest.raises(ValueError, match="not an aekit model directory"):
        ens.save(results)
    # what may be replaced: an empty directory, a model directory, an ensemble directory
    empty = tmp_path / "empty"
    empty.mkdir()
    fitted.save(empty)
    fitted.save(empty)
    ens.save(empty)
    fitted.save(empty)
    assert isinstance(aekit.load(empty), Autoencoder)


# ----------------------------------------------------------------- streaming
def test_batches_validation_with_other_features_is_refused(digits):
    """A validation set of another width trained for an epoch, then failed inside the network
    ("mat1 and mat2 shapes cannot be multiplied")."""
    from aekit.streaming import Batches

    with pytest.raises(ValueError, match="validation has 10 features, but the batches have 64"):
        Batches([digits[:100], digits[100:]], validation=digits[:50, :10])
    with pytest.raises(ValueError, match="validation has 10 features, but the batches have 64"):
        Batches([digits[:100]], validation=Batches([digits[:50, :10]]))


def test_nan_in_streamed_training_data_is_named(digits, tmp_path):
    """NaN in a memory-mapped file or a batch surfaced as TrainingDivergedError advising a lower
    learning_rate; in memory, fit says "X contains NaN"."""
    from aekit.streaming import Batches

    holed = digits.copy()
    holed[150, 3] = np.nan
    np.save(tmp_path / "X.npy", holed)
    sources = [np.load(tmp_path / "X.npy", mmap_mode="r"), Batches([digits[:100], holed[100:]])]
    for X in sources:
        with pytest.raises(ValueError, match="contain NaN or infinity"):
            Autoencoder(**TINY).fit(X)
    with pytest.raises(ValueError, match="validation contains NaN or infinity"):
        Batches([digits[:100]], validation=holed[100:])


def test_inference_and_imputers_name_an_iterable_they_cannot_take(fitted, digits, wine_with_holes):
    """transform(DataLoader) and AutoencoderImputer.fit(DataLoader) failed with "float() argument must
    be a string or a real number, not 'DataLoader'"; only Autoencoder.fit streams batches."""
    from torch.utils.data import DataLoader, TensorDataset

    from aekit.streaming import Batches

    loader = DataLoader(TensorDataset(torch.from_numpy(digits)), batch_size=64)
    for method in ("transform", "reconstruct", "score"):
        with pytest.raises(TypeError, match="transform takes an array .*not DataLoader, as do reconstruct and score"):
            getattr(fitted, method)(loader)
    with pytest.raises(TypeError, match="transform takes an array .*not Batches"):
        fitted.transform(Batches([digits]))
    imputer = AutoencoderImputer(**TINY)
    with pytest.raises(TypeError, match="AutoencoderImputer cannot train from DataLoader"):
        imputer.fit(loader)
    with pytest.raises(TypeError, match="ImputerEnsemble cannot train from DataLoader"):
        ImputerEnsemble(imputer, n_members=1).fit(loader)
    imputer.fit(wine_with_holes)
    with pytest.raises(TypeError, match="transform takes an array .*not DataLoader"):
        imputer.transform(DataLoader(TensorDataset(torch.from_numpy(wine_with_holes))))


# ------------------------------------------------------ imputers, evaluation
def test_imputer_score_on_the_dataframe_it_was_fitted_on_does_not_warn(wine_with_holes):
    """score validated the DataFrame, then passed the bare array to transform, which warned
    "X does not have valid feature names, but AutoencoderImputer was fitted with feature names"."""
    import warnings

    import pandas as pd

    df = pd.DataFrame(wine_with_holes, columns=load_wine().feature_names)
    for est in (AutoencoderImputer(**TINY), ImputerEnsemble(AutoencoderImputer(**TINY), n_members=1)):
        est.fit(df)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            score = est.score(df)
        assert np.isfinite(score) and score < 0
        with pytest.warns(UserWarning, match="does not have valid feature names"):  # still warns when due
            est.score(wine_with_holes)


def test_evaluate_takes_seeds_as_scikit_learn_does(digits):
    """evaluate(denoiser, X, random_state=None) raised torch's "manual_seed expected a long", and
    np.int64(3) "an integer is required"; an imputer took both."""
    from aekit import DenoisingAutoencoder
    from aekit.evaluation import evaluate

    dae = DenoisingAutoencoder(**TINY).fit(digits)
    assert evaluate(dae, digits, random_state=np.int64(3)) == evaluate(dae, digits, random_state=3)
    assert evaluate(dae, digits, random_state=None)["noisy_mse"] > 0
    with pytest.raises(TypeError, match="random_state must be an int or None; got 'a'"):
        evaluate(dae, digits, random_state="a")


def test_evaluate_names_hide_when_it_is_out_of_range(wine_with_holes):
    """The error said "fraction must be in [0, 1]", a parameter evaluate does not have."""
    from aekit.evaluation import evaluate

    imp = AutoencoderImputer(**TINY).fit(wine_with_holes)
    for hide in (1.5, -0.1):
        with pytest.raises(ValueError, match=f"hide must be a fraction in \\[0, 1\\]; got {hide}"):
            evaluate(imp, wine_with_holes, hide=hide)


def test_evaluate_checks_dataframe_columns_like_the_model(digits):
    """evaluate dropped the column names: a DataFrame with its columns in another order was scored
    silently (transform refuses it), and the right one warned that it had no feature names."""
    import warnings

    import pandas as pd

    from aekit.evaluation import evaluate

    df = pd.DataFrame(digits, columns=[f"pixel{i}" for i in range(64)])
    ae = Autoencoder(**TINY).fit(df)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = evaluate(ae, df)
    assert result["error_per_sample"] == pytest.approx(-ae.score(df))
    with pytest.raises(ValueError, match="same order"):
        evaluate(ae, df[df.columns[::-1]])


def test_hidden_entry_error_on_integer_data():
    """Hiding entries of an int array failed with "cannot convert float NaN to integer"."""
    from aekit.metrics import hidden_entry_error

    X = np.array([[1, 2], [3, 4]])
    assert hidden_entry_error(lambda A: np.where(np.isnan(A), 0.0, A), X, fraction=1.0) == 15.0


# -------------------------------------------------------------------- images
def test_images_refuse_integer_pixels_instead_of_clipping_them(tmp_path):
    """The functions take floats in [0, 1]; skimage's uint8 images (0..255) came back from
    denoise_image as values up to 255 and were written by write_image as a white image."""
    import skimage.data

    from aekit import DenoisingAutoencoder
    from aekit.images import denoise_image, write_image

    camera = skimage.data.camera()[::8, ::8]  # uint8
    with pytest.raises(ValueError, match=r"image has dtype uint8 .*image / 255"):
        write_image(tmp_path / "camera.png", camera)
    assert not (tmp_path / "camera.png").exists()
    rng = np.random.default_rng(0)
    patches = np.stack([(camera[r:r + 8, c:c + 8] / 255.0).ravel() for r, c in rng.integers(0, 56, (100, 2))])
    dae = DenoisingAutoencoder(**TINY, image_shape=(8, 8)).fit(patches)
    with pytest.raises(ValueError, match=r"image has dtype uint8 .*image / 255"):
        denoise_image(dae, camera)
    assert denoise_image(dae, camera / 255.0).max() <= 2.0
    write_image(tmp_path / "mask.png", camera > 128)  # booleans and 0/1 integers are pixels already
    write_image(tmp_path / "mask.png", (camera > 128).astype(np.uint8))


# ------------------------------------------------------------------ plotting
def test_figures_are_saved_into_new_folders_like_every_other_output(digits, tmp_path):
    """With a path in a folder that did not exist yet the error named a hidden temporary file
    ("No such file or directory: '.../.rows.png.1a2b3c4d.tmp'"); models and images make their folders."""
    from aekit.plotting import image_rows, loss_curve

    path = tmp_path / "figures" / "run1" / "rows.png"
    assert image_rows([("digits", digits[:5])], (8, 8), path=path) == path
    assert path.stat().st_size > 0
    assert loss_curve([1.0, 0.5], path=tmp_path / "curves" / "loss.svg").is_file()


def test_code_scatter_names_class_names_that_do_not_cover_the_labels():
    """class_names shorter than the labels raised a bare IndexError; a negative label took a
    name from the end of the list."""
    from aekit.plotting import code_scatter

    codes = np.random.default_rng(0).normal(size=(30, 2))
    y = np.arange(30) % 3
    with pytest.raises(ValueError, match=r"class_names has 1 names, but y has labels up to 2"):
        code_scatter([("pca", codes)], y, class_names=["zero"])
    with pytest.raises(ValueError, match="class_names names labels 0, 1, ...; y has a negative label -1"):
        code_scatter([("pca", codes)], y - 1, class_names=["a", "b", "c"])
    assert len(code_scatter([("pca", codes)], y, class_names=["a", "b", "c"]).axes) == 1


def test_a_16_bit_grey_image_read_as_rgb_keeps_its_levels(tmp_path):
    """mode="rgb" went through Pillow's 8-bit conversion, which clips 16-bit levels: every pixel
    above 255 of 65535 came back white."""
    from aekit.images import read_image, write_image

    ramp = np.linspace(0, 1, 64).reshape(8, 8)
    write_image(tmp_path / "ramp.png", ramp, bit_depth=16)
    rgb = read_image(tmp_path / "ramp.png", mode="rgb")
    assert rgb.shape == (8, 8, 3)
    np.testing.assert_allclose(rgb[..., 1], ramp, atol=1e-4)


def test_a_list_of_batches_says_to_wrap_it_in_batches():
    X = np.random.default_rng(0).random((64, 5)).astype(np.float32)
    with pytest.raises(TypeError, match=r"X is a list of 2 2-D arrays \(batches\?\); wrap it in aekit.streaming.Batches"):
        Autoencoder(max_epochs=1).fit([X[:32], X[32:]])


def _float_params():
    from aekit import ContractiveAutoencoder, DenoisingAutoencoder, SparseAutoencoder, VariationalAutoencoder

    for cls in (Autoencoder, SparseAutoencoder, DenoisingAutoencoder, ContractiveAutoencoder,
                VariationalAutoencoder, AutoencoderImputer):
        for name, spec in cls._param_specs.items():
            if spec.kind == "float" and name != "max_time":
                yield cls, name


@pytest.mark.parametrize("cls, name", list(_float_params()), ids=lambda v: getattr(v, "__name__", v))
def test_an_infinite_float_parameter_is_refused_up_front(cls, name):
    # tol=inf or sparsity_weight=inf passed the bounds check (inf >= 0) and training then failed with a
    # message about the learning rate, or stopped after one epoch without saying why
    X = np.random.default_rng(0).random((20, 4), dtype=np.float32)
    with pytest.raises(ValueError, match=f"{name} must be finite; got inf"):
        cls(hidden_layer_sizes=(4,), n_components=2, max_epochs=1, **{name: float("inf")}).fit(X)


def test_an_infinite_time_budget_means_none():
    X = np.random.default_rng(0).random((20, 4), dtype=np.float32)
    est = Autoencoder(hidden_layer_sizes=(4,), n_components=2, max_epochs=2, max_time=float("inf")).fit(X)
    assert est.n_iter_ == 2
