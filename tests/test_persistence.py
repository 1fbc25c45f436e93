"""save / load: exact round trips, no pickle, clear errors for bad files."""

import json

import numpy as np
import pytest

from aekit import Autoencoder, load
from aekit.persistence import CONFIG_FILE, FORMAT_VERSION, WEIGHTS_FILE, save


@pytest.fixture
def fitted(small_X):
    return Autoencoder(n_components=3, hidden_layer_sizes=(12, 6), activation="gelu", max_epochs=4,
                       random_state=0).fit(small_X)


def test_round_trip_identical_outputs(fitted, small_X, tmp_path):
    path = fitted.save(tmp_path / "model")
    assert sorted(p.name for p in path.iterdir()) == [CONFIG_FILE, WEIGHTS_FILE]
    loaded = load(path)
    assert type(loaded) is Autoencoder
    assert loaded.get_params() == fitted.get_params()
    np.testing.assert_array_equal(loaded.transform(small_X), fitted.transform(small_X))
    np.testing.assert_array_equal(loaded.reconstruct(small_X), fitted.reconstruct(small_X))
    assert loaded.loss_curve_ == fitted.loss_curve_ and loaded.n_iter_ == fitted.n_iter_
    assert loaded.score(small_X) == fitted.score(small_X)


def test_config_is_plain_json_with_versions(fitted, tmp_path):
    config = json.loads((fitted.save(tmp_path / "m") / CONFIG_FILE).read_text())
    assert config["format_version"] == FORMAT_VERSION and config["class"] == "Autoencoder"
    assert config["params"]["hidden_layer_sizes"] == [12, 6]
    assert "aekit_version" in config


def test_feature_names_survive(small_X, tmp_path):
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame(small_X, columns=[f"c{i}" for i in range(10)])
    ae = Autoencoder(n_components=2, hidden_layer_sizes=(4,), max_epochs=1, random_state=0).fit(df)
    loaded = load(ae.save(tmp_path / "m"))
    assert list(loaded.feature_names_in_) == list(df.columns)
    np.testing.assert_array_equal(loaded.transform(df), ae.transform(df))


def test_save_replaces_existing_directory_atomically(fitted, small_X, tmp_path):
    path = tmp_path / "model"
    fitted.save(path)
    other = Autoencoder(n_components=2, hidden_layer_sizes=(4,), max_epochs=1, random_state=1).fit(small_X)
    save(other, path)
    assert load(path).n_components == 2
    assert [p.name for p in tmp_path.iterdir()] == ["model"]  # no temporary leftovers


def test_failed_save_leaves_nothing(fitted, tmp_path):
    def boom(directory):
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        save(fitted, tmp_path / "model", extras=boom)
    assert list(tmp_path.iterdir()) == []


def test_save_unfitted_raises(tmp_path):
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        Autoencoder().save(tmp_path / "m")


def _corrupt(path, name, content: bytes):
    (path / name).write_bytes(content)


@pytest.mark.parametrize(
    "damage, exc, match",
    [
        (lambda p: (p / WEIGHTS_FILE).unlink(), FileNotFoundError, "model.safetensors is missing"),
        (lambda p: (p / CONFIG_FILE).unlink(), FileNotFoundError, "config.json is missing"),
        (lambda p: _corrupt(p, WEIGHTS_FILE, (p / WEIGHTS_FILE).read_bytes()[:100]), ValueError,
         "not a readable safetensors file"),
        (lambda p: _corrupt(p, WEIGHTS_FILE, b"\x80\x04\x95pickle"), ValueError, "not a readable safetensors"),
        (lambda p: _corrupt(p, CONFIG_FILE, b"{not json"), ValueError, "is not valid JSON"),
        (lambda p: _corrupt(p, CONFIG_FILE, b'{"format": "other"}'), ValueError, "not an aekit model config"),
    ],
)
def test_bad_files(fitted, tmp_path, damage, exc, match):
    path = fitted.save(tmp_path / "m")
    damage(path)
    with pytest.raises(exc, match=match):
        load(path)


def test_newer_format_version_and_shape_mismatch(fitted, tmp_path):
    path = fitted.save(tmp_path / "m")
    config = json.loads((path / CONFIG_FILE).read_text())
    config["format_version"] = FORMAT_VERSION + 1
    (path / CONFIG_FILE).write_text(json.dumps(config))
    with pytest.raises(ValueError, match="Upgrade aekit"):
        load(path)
    config["format_version"] = FORMAT_VERSION
    config["params"]["n_components"] = 5  # JSON disagrees with the stored tensors
    (path / CONFIG_FILE).write_text(json.dumps(config))
    with pytest.raises(ValueError, match="does not fit the network"):
        load(path)


def test_a_parameter_from_another_aekit_version_says_which_version_wrote_the_model(fitted, tmp_path):
    """Same format, but a parameter this aekit lacks: the error names both versions (a newer aekit that added a
    parameter still writes format 1), and names none when the versions agree (a damaged file, not an upgrade)."""
    import aekit

    path = fitted.save(tmp_path / "m")
    config = json.loads((path / CONFIG_FILE).read_text())
    config["params"]["new_knob"] = 3
    config["aekit_version"] = "9.0.0"
    (path / CONFIG_FILE).write_text(json.dumps(config))
    with pytest.raises(ValueError, match=rf"'new_knob'.*written by aekit '9.0.0', this is {aekit.__version__}.*"
                                         "load it with the aekit that saved it"):
        load(path)
    config["aekit_version"] = aekit.__version__
    (path / CONFIG_FILE).write_text(json.dumps(config))
    with pytest.raises(ValueError, match="invalid parameters") as err:
        load(path)
    assert "written by" not in str(err.value)


def test_missing_directory(tmp_path):
    with pytest.raises(FileNotFoundError, match="not an aekit model directory"):
        load(tmp_path / "nope")


def test_file_format_check_docstring_runs():
    import doctest

    from aekit import _fileformat

    result = doctest.testmod(_fileformat)
    assert result.attempted > 0 and result.failed == 0


def test_load_does_not_initialise_the_weights_it_replaces(fitted, tmp_path, monkeypatch):
    # the shape check builds the net on the meta device; initialising it there went through torch's reference
    # normal_, which imports torch._dynamo: about a second on every load (aekit info 3.9 s -> 2.6 s)
    import torch.nn.init

    fitted.save(tmp_path / "m")

    on_meta = []  # recorded, not raised: the shape check treats any error as "not buildable on meta"

    def recording(init):
        def init_and_record(tensor, *args, **kwargs):
            on_meta.append(tensor.is_meta)
            return init(tensor, *args, **kwargs)
        return init_and_record

    for name in ("kaiming_normal_", "xavier_normal_"):
        monkeypatch.setattr(torch.nn.init, name, recording(getattr(torch.nn.init, name)))
    back = load(tmp_path / "m")
    assert on_meta and not any(on_meta)  # the real network is initialised (then loaded), the meta one not
    np.testing.assert_array_equal(back.transform(np.zeros((1, fitted.n_features_in_), np.float32)),
                                  fitted.transform(np.zeros((1, fitted.n_features_in_), np.float32)))
