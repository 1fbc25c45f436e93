"""Hostile model and checkpoint files: loading never runs code and fails with a clear one-line error."""

import json
import pickle
import re
import struct
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from aekit import Autoencoder, load
from aekit.checkpoint import CHECKPOINT_FILE, load_checkpoint, read_checkpoint_info, save_checkpoint
from aekit.cli import main
from aekit.persistence import CONFIG_FILE, WEIGHTS_FILE, save

SRC = Path(__file__).resolve().parents[1] / "src" / "aekit"


class _Exploit:
    """Unpickling this would create the marker file: proof that code ran."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (Path.touch, (Path(self.marker),))


@pytest.fixture
def model_dir(tmp_path, rng):
    est = Autoencoder(n_components=2, hidden_layer_sizes=(4,), max_epochs=1, random_state=0).fit(rng.random((20, 5)))
    return save(est, tmp_path / "model")


def _config(model_dir):
    return json.loads((model_dir / CONFIG_FILE).read_text())


def _set_config(model_dir, config):
    (model_dir / CONFIG_FILE).write_text(json.dumps(config))


def _edit(key, value):
    def edit(model_dir):
        config = _config(model_dir)
        config[key] = value
        _set_config(model_dir, config)
    return edit


def _edit_in(section, key, value):
    def edit(model_dir):
        config = _config(model_dir)
        config[section][key] = value
        _set_config(model_dir, config)
    return edit


def _weights(tensors):
    def edit(model_dir):
        save_file(tensors(model_dir), str(model_dir / WEIGHTS_FILE))
    return edit


def _truncate(name, keep):
    def edit(model_dir):
        data = (model_dir / name).read_bytes()
        (model_dir / name).write_bytes(data[:keep(len(data))])
    return edit


def _pickle_as_weights(model_dir):
    (model_dir / WEIGHTS_FILE).write_bytes(pickle.dumps(_Exploit(model_dir.parent / "PWNED")))


def _torch_save_as_weights(model_dir):
    torch.save({"w": torch.zeros(2), "x": _Exploit(model_dir.parent / "PWNED")}, model_dir / WEIGHTS_FILE)


def _real_tensors(model_dir):
    from safetensors.torch import load_file

    return load_file(str(model_dir / WEIGHTS_FILE))


def _huge_header(model_dir):
    (model_dir / WEIGHTS_FILE).write_bytes(struct.pack("<Q", 2**62) + b"{}")


def _sparse_config(model_dir):
    with open(model_dir / CONFIG_FILE, "r+b") as fh:
        fh.truncate(65 * 2**20)  # sparse: no real 65 MB written


def _shapes_disagree(model_dir):
    config = _config(model_dir)
    config["tensors"]["net.encoder.0.weight"] = [4, 6]
    _set_config(model_dir, config)


# (corruption, expected exception, message pattern)
CORPUS = {
    "truncated weights": (_truncate(WEIGHTS_FILE, lambda n: n // 2), ValueError, "is not a readable safetensors file"),
    "empty weights": (_truncate(WEIGHTS_FILE, lambda n: 0), ValueError, "is not a readable safetensors file"),
    "header length 2**62": (_huge_header, ValueError, "is not a readable safetensors file"),
    "pickle renamed to model.safetensors": (_pickle_as_weights, ValueError, "is not a readable safetensors file"),
    "torch.save zip renamed": (_torch_save_as_weights, ValueError, "is not a readable safetensors file"),
    "truncated config": (_truncate(CONFIG_FILE, lambda n: n // 2), ValueError, "is not valid JSON"),
    "binary garbage config": (lambda d: (d / CONFIG_FILE).write_bytes(bytes(range(256)) * 4), ValueError,
                              "is not valid JSON"),
    "JSON nesting bomb": (lambda d: (d / CONFIG_FILE).write_text("[" * 200_000), ValueError, "is not valid JSON"),
    "65 MB config": (_sparse_config, ValueError, "an aekit model config is a few kB"),
    "config is a list": (lambda d: (d / CONFIG_FILE).write_text("[1, 2]"), ValueError, "is not an aekit model config"),
    "foreign format": (_edit("format", "keras"), ValueError, "is not an aekit model config"),
    "newer format version": (_edit("format_version", 99), ValueError, r"format_version 99; .* Upgrade aekit"),
    "format version as text": (_edit("format_version", "1"), ValueError, "invalid format_version '1'"),
    "format version true": (_edit("format_version", True), ValueError, "invalid format_version True"),
    "format version 0": (_edit("format_version", 0), ValueError, "invalid format_version 0"),
    "no class": (lambda d: _set_config(d, {k: v for k, v in _config(d).items() if k != "class"}), ValueError,
                 "missing the key 'class'"),
    "unknown class": (_edit("class", "os.system"), ValueError, "unknown estimator class 'os.system'"),
    "params not a dict": (_edit("params", [1]), ValueError, "'params' must be a JSON object"),
    "tensors not a dict": (_edit("tensors", "x"), ValueError, "'tensors' must be a JSON object"),
    "unknown parameter": (_edit_in("params", "exec", "print(1)"), ValueError, "has invalid parameters"),
    "invalid parameter value": (_edit_in("params", "activation", "swish"), ValueError,
                                "has invalid parameters: activation must be one of"),
    "fitted attribute shadows a method": (_edit_in("fitted", "transform", 1), ValueError,
                                          r"invalid fitted attribute names \['transform'\]"),
    "fitted dunder attribute": (_edit_in("fitted", "__class__", "x"), ValueError, "invalid fitted attribute names"),
    "n_features_in_ missing": (lambda d: _set_config(d, {**_config(d), "fitted": {}}), ValueError,
                               "lacks a valid n_features_in_"),
    "n_features_in_ negative": (_edit_in("fitted", "n_features_in_", -3), ValueError, "lacks a valid n_features_in_"),
    "JSON tensor shapes disagree with the file": (_shapes_disagree, ValueError, "the tensor names or shapes differ"),
    "tensor shape not a list": (_edit_in("tensors", "net.encoder.0.weight", "4x5"), ValueError,
                                "must be a list of ints"),
    "parameters disagree with the weights": (
        _edit_in("params", "hidden_layer_sizes", [7]), ValueError,
        r"does not fit the network described in .*: tensor 'encoder.0.weight' has shape \[4, 5\] in the file, "
        r"\[7, 5\] in the network"),
    "terabyte network in the parameters": (
        _edit_in("params", "hidden_layer_sizes", [2**40]), ValueError, "does not fit the network described"),
    "integer weights": (_weights(lambda d: {k: v.to(torch.int32) for k, v in _real_tensors(d).items()}), ValueError,
                        r"unexpected tensor 'net\.\S+' \(torch.int32\)"),
    "extra tensor": (_weights(lambda d: {**_real_tensors(d), "evil": torch.zeros(1)}), ValueError,
                     "unexpected tensor 'evil'"),
}


@pytest.mark.parametrize("case", sorted(CORPUS))
def test_hostile_model_files(model_dir, case, capsys):
    corrupt, error, pattern = CORPUS[case]
    corrupt(model_dir)
    if case in ("integer weights", "extra tensor"):  # keep the JSON's shape table in step with the file
        config = _config(model_dir)
        config["tensors"] = {k: list(v.shape) for k, v in _real_tensors(model_dir).items()}
        _set_config(model_dir, config)
    tic = time.perf_counter()
    with pytest.raises(error, match=pattern) as info:
        load(model_dir)
    assert time.perf_counter() - tic < 10  # no giant allocation, no hang
    assert len(str(info.value).splitlines()) == 1
    assert not (model_dir.parent / "PWNED").exists()
    assert main(["info", str(model_dir)]) == 2  # the CLI: one line, exit 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("aekit info: error:") and len(err.splitlines()) == 1


def test_missing_files(model_dir, tmp_path):
    with pytest.raises(FileNotFoundError, match="no such directory"):
        load(tmp_path / "nowhere")
    with pytest.raises(FileNotFoundError, match=r"config.json is not an aekit model directory \(a file, not a"):
        load(model_dir / CONFIG_FILE)
    (model_dir / WEIGHTS_FILE).unlink()
    with pytest.raises(FileNotFoundError, match="model.safetensors is missing"):
        load(model_dir)
    (model_dir / CONFIG_FILE).unlink()
    (model_dir / CONFIG_FILE).mkdir()
    with pytest.raises(FileNotFoundError, match="config.json is missing"):
        load(model_dir)


def test_the_pickle_would_have_run_code(tmp_path):
    """The corpus' pickle is a real exploit: the tests above prove that aekit never unpickles it."""
    pickle.loads(pickle.dumps(_Exploit(tmp_path / "PWNED")))
    assert (tmp_path / "PWNED").exists()


# ---------------------------------------------------------------- checkpoints
def _write_checkpoint_header(path, header_text, tensors=None):
    save_file(tensors or {"x": torch.zeros(1)}, str(path / CHECKPOINT_FILE), metadata={"aekit": header_text})


def _valid_header(**changes):
    header = {"format": "aekit-checkpoint", "format_version": 1, "aekit_version": "0", "meta": {}, "state": {}}
    header.update(changes)
    return json.dumps(header)


CHECKPOINTS = {
    "pickle renamed": (lambda d: (d / CHECKPOINT_FILE).write_bytes(pickle.dumps(_Exploit(d / "PWNED"))),
                       "is not a readable safetensors file"),
    "truncated": (lambda d: (save_checkpoint(d, {"w": torch.ones(100)}, {}),
                             (d / CHECKPOINT_FILE).write_bytes((d / CHECKPOINT_FILE).read_bytes()[:-50])),
                  "is not a readable safetensors file"),
    "a model file, not a checkpoint": (lambda d: save_file({"x": torch.zeros(1)}, str(d / CHECKPOINT_FILE)),
                                       "not an aekit checkpoint"),
    "garbage header": (lambda d: _write_checkpoint_header(d, "{{{"), "corrupt checkpoint header"),
    "nesting bomb": (lambda d: _write_checkpoint_header(d, "[" * 200_000), "corrupt checkpoint header"),
    "newer version": (lambda d: _write_checkpoint_header(d, _valid_header(format_version=7)),
                      "format_version 7; .* Upgrade aekit"),
    "missing tensor": (lambda d: _write_checkpoint_header(d, _valid_header(state={"w": {"$tensor": "nope"}})),
                       "the tensor 'nope' is missing"),
    "bad float": (lambda d: _write_checkpoint_header(d, _valid_header(state={"w": {"$float": "1e999999"}})),
                  "bad float"),
    "list as key": (lambda d: _write_checkpoint_header(d, _valid_header(state={"w": {"$items": [[[1], 2]]}})),
                    "a dictionary key is a list"),
    "no state": (lambda d: _write_checkpoint_header(d, _valid_header(state=None)), "missing its 'meta' or 'state'"),
}


@pytest.mark.parametrize("case", sorted(CHECKPOINTS))
def test_hostile_checkpoints(tmp_path, case):
    CHECKPOINTS[case][0](tmp_path)
    with pytest.raises(ValueError, match=CHECKPOINTS[case][1]) as info:
        load_checkpoint(tmp_path)
    assert len(str(info.value).splitlines()) == 1
    assert not (tmp_path / "PWNED").exists()


def test_a_checkpoint_that_does_not_fit_the_run_is_refused(tmp_path, rng):
    X = rng.random((30, 5)).astype(np.float32)
    kw = dict(n_components=2, hidden_layer_sizes=(4,), max_epochs=2, random_state=0)
    Autoencoder(**kw).fit(X, checkpoint_dir=tmp_path)
    state, meta = load_checkpoint(tmp_path)
    state["net"]["encoder.0.weight"] = torch.zeros(9, 9)  # parameters and data match, the weights do not
    save_checkpoint(tmp_path, state, meta)
    with pytest.raises(ValueError, match=r"does not fit this training run: .*[^.]; delete it to start over\.$"):
        Autoencoder(**kw).fit(X, checkpoint_dir=tmp_path, resume=True)
    meta["val_idx"] = torch.tensor([0, 0, 99])
    save_checkpoint(tmp_path, state, meta)
    with pytest.raises(ValueError, match="corrupt validation split; delete it to start over"):
        Autoencoder(**kw).fit(X, checkpoint_dir=tmp_path, resume=True)
    assert read_checkpoint_info(tmp_path)["epoch"] == 2


# ---------------------------------------------------------------- the source
def test_no_loader_in_aekit_can_unpickle():
    """Every torch.load uses weights_only=True, every np.load allow_pickle=False, and nothing imports pickle.

    ImputerEnsemble(n_jobs=...) trains members in worker processes through
    scikit-learn's joblib wrapper, which pickles the program's own in-memory
    estimators between its processes; no file is read that way (no
    joblib.load / pickle.load anywhere).
    """
    for file in SRC.rglob("*.py"):
        text = file.read_text()
        assert not re.search(r"^\s*(import|from)\s+(pickle|dill|joblib|cloudpickle)\b", text, re.M), file
        assert not re.search(r"\b(pickle|joblib|dill|cloudpickle)\.loads?\(", text), file
        for call in re.findall(r"torch\.load\([^)]*\)", text):
            assert "weights_only=True" in call, (file, call)
        for call in re.findall(r"np\.load\([^)]*\)", text):
            assert "allow_pickle=False" in call, (file, call)
        assert "allow_pickle=True" not in text, file
