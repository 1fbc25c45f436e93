"""Files from others: what a crafted model, ensemble, data or image file can make aekit do.

Each test hands aekit a file an attacker could send (or a directory a user
might save over) and checks that aekit refuses it with a one-line error
before doing harm: no traceback, no giant allocation, no file deleted.
The model-file corpus of earlier hunts is in tests/test_hostile_files.py.
"""

import io
import json
import os
import shutil
import tracemalloc
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from aekit import Autoencoder, AutoencoderImputer, ImputerEnsemble, load
from aekit.cli import main
from aekit.datasets import load_array
from aekit.images import read_image
from aekit.persistence import CONFIG_FILE, ENSEMBLE_FILE, save

TINY = dict(hidden_layer_sizes=(4,), max_epochs=1, random_state=0)


def _one_line_cli(argv, capsys):
    """Run the CLI; it must fail with exit 2 and a one-line message (returned)."""
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith(f"aekit {argv[0]}: error:"), err
    return err


def _symlink(target, link):
    try:
        os.symlink(target, link, target_is_directory=True)
    except (OSError, NotImplementedError) as err:  # Windows without the privilege
        pytest.skip(f"no symlinks here ({err})")


@pytest.fixture(scope="module")
def ensemble_dir(tmp_path_factory):
    rng = np.random.default_rng(0)
    X = rng.random((30, 5))
    X[rng.random(X.shape) < 0.2] = np.nan
    ens = ImputerEnsemble(AutoencoderImputer(2, **TINY), n_members=2, random_state=0).fit(X)
    return ens.save(tmp_path_factory.mktemp("ens") / "ens")


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    X = np.random.default_rng(0).random((30, 5))
    return save(Autoencoder(n_components=2, scaling="standard", **TINY).fit(X), tmp_path_factory.mktemp("m") / "m")


def _copy(src, dst):
    shutil.copytree(src, dst, symlinks=True)
    return dst


# ---------------------------------------------------------------- ensembles
def test_an_ensemble_member_that_is_itself_an_ensemble_is_refused(ensemble_dir, tmp_path):
    """save_ensemble never writes one; load built an ensemble of ensembles from it."""
    nested = _copy(ensemble_dir, tmp_path / "nested")
    for name in ("member_0", "member_1"):
        shutil.rmtree(nested / name)
        _copy(ensemble_dir, nested / name)
    with pytest.raises(ValueError, match=r"member_0 holds an ensemble \(ensemble.json\); an ensemble's members are "
                                         "model directories") as info:
        load(nested)
    assert len(str(info.value).splitlines()) == 1


def test_a_deep_chain_of_nested_ensembles_fails_in_one_line(ensemble_dir, tmp_path, capsys):
    """400 nested one-member ensembles (a few kB) made `aekit info` die of RecursionError, with a traceback."""
    index = json.loads((ensemble_dir / ENSEMBLE_FILE).read_text())
    index.update(members=["member_0"], seeds=[1], params={**index["params"], "n_members": 1})
    directory = root = tmp_path / "deep"
    for _ in range(400):
        directory.mkdir()
        (directory / ENSEMBLE_FILE).write_text(json.dumps(index))
        directory = directory / "member_0"
    _copy(ensemble_dir / "member_0", directory)
    err = _one_line_cli(["info", str(root)], capsys)
    assert "holds an ensemble" in err and len(err) < 500


def test_an_ensemble_member_may_not_lead_outside_the_ensemble(ensemble_dir, model_dir, tmp_path):
    """A member that is a link to another directory (or to the ensemble itself) is refused, not followed."""
    outside = _copy(ensemble_dir, tmp_path / "outside")
    shutil.rmtree(outside / "member_0")
    _symlink(model_dir.resolve(), outside / "member_0")
    with pytest.raises(ValueError, match="member_0 leads outside .*; an ensemble's members are directories inside it"):
        load(outside)
    loop = _copy(ensemble_dir, tmp_path / "loop")
    shutil.rmtree(loop / "member_1")
    _symlink(".", loop / "member_1")
    with pytest.raises(ValueError, match="member_1 leads outside"):
        load(loop)


# ---------------------------------------------------------------- model files
def test_a_fitted_array_may_not_replace_a_fitted_value_of_the_config(model_dir, tmp_path):
    """A 'fitted.n_features_in_' tensor silently replaced the config's n_features_in_ (`aekit info`: '[0. 0.]
    features'), after the network had been checked against the config's."""
    from safetensors.torch import load_file, save_file
    import torch

    bad = _copy(model_dir, tmp_path / "bad")
    tensors = load_file(str(bad / "model.safetensors"))
    tensors["fitted.n_features_in_"] = torch.zeros(2)
    save_file(tensors, str(bad / "model.safetensors"))
    config = json.loads((bad / CONFIG_FILE).read_text())
    config["tensors"]["fitted.n_features_in_"] = [2]
    (bad / CONFIG_FILE).write_text(json.dumps(config))
    with pytest.raises(ValueError, match=r"holds the fitted attribute 'n_features_in_' twice"):
        load(bad)


def _with_fitted_tensor(model_dir, tmp_path, name, value):
    """A copy of the model whose fitted array ``name`` is ``value`` (None: removed)."""
    from safetensors.torch import load_file, save_file

    bad = _copy(model_dir, tmp_path / "bad")
    tensors = load_file(str(bad / "model.safetensors"))
    config = json.loads((bad / CONFIG_FILE).read_text())
    del tensors[f"fitted.{name}"], config["tensors"][f"fitted.{name}"]
    if value is not None:
        tensors[f"fitted.{name}"] = value
        config["tensors"][f"fitted.{name}"] = list(value.shape)
    save_file(tensors, str(bad / "model.safetensors"))
    (bad / CONFIG_FILE).write_text(json.dumps(config))
    return bad


@pytest.mark.parametrize("name, value, problem", [
    ("center_", np.zeros(1), r"got shape \(1,\)"),  # broadcast over all 5 features: wrong outputs, no error
    ("center_", np.zeros(3), r"got shape \(3,\)"),  # failed inside transform: "operands could not be broadcast"
    ("scale_", np.zeros(5), "each above 0.*got 0"),  # every output NaN
    ("scale_", np.full(5, np.nan), "got a NaN or infinity"),
    ("center_", np.zeros(5, dtype=np.int64), "got int64 values"),
    ("scale_", None, "got nothing"),  # scaling_ 'standard' without its scale: the network would see raw X
])
def test_the_input_scaling_of_a_model_must_fit_its_features(model_dir, tmp_path, name, value, problem):
    import torch

    bad = _with_fitted_tensor(model_dir, tmp_path, name, None if value is None else torch.from_numpy(value))
    with pytest.raises(ValueError, match=rf"model.safetensors: the fitted {name} must be 5 finite .*{problem}"):
        load(bad)


def test_an_imputer_always_needs_its_input_scaling(ensemble_dir, tmp_path):
    """AutoencoderImputer scales by itself (whatever its scaling): without center_ its transform raised
    AttributeError."""
    bad = _with_fitted_tensor(ensemble_dir / "member_0", tmp_path, "center_", None)
    with pytest.raises(ValueError, match="the fitted center_ must be 5 finite .* got nothing"):
        load(bad)


# ---------------------------------------------------------------- saving over a directory
@pytest.mark.parametrize("index", [CONFIG_FILE, ENSEMBLE_FILE])
def test_saving_never_replaces_a_directory_whose_config_is_not_aekit(model_dir, tmp_path, index):
    """Any directory holding a config.json counted as a model: est.save(project) deleted the whole project."""
    project = tmp_path / "project"
    project.mkdir()
    (project / index).write_text('{"name": "my app", "version": 3}')
    (project / "main.py").write_text("print('hello')\n")
    with pytest.raises(ValueError, match=rf"{index} is not an aekit (model config|ensemble index) \(no 'format'"
                                         ".*; saving replaces the whole directory"):
        save(load(model_dir), project)
    assert (project / "main.py").read_text() == "print('hello')\n"
    (project / index).write_text("{not json")  # unreadable: refused too
    with pytest.raises(ValueError, match="is not an aekit"):
        save(load(model_dir), project)


def test_saving_over_a_model_still_works_and_never_follows_links(model_dir, tmp_path):
    """The old directory's links are removed, never followed; a link named as the target is replaced itself."""
    keep = tmp_path / "keep"
    keep.mkdir()
    (keep / "secret.txt").write_text("precious")
    old = _copy(model_dir, tmp_path / "old")
    _symlink(keep.resolve(), old / "link")
    save(load(model_dir), old)
    assert sorted(p.name for p in old.iterdir()) == [CONFIG_FILE, "model.safetensors"]
    link = tmp_path / "to_model"
    other = _copy(model_dir, tmp_path / "other")
    _symlink(other.resolve(), link)
    save(load(model_dir), link)
    assert not link.is_symlink() and (link / CONFIG_FILE).is_file()
    assert (keep / "secret.txt").read_text() == "precious" and (other / CONFIG_FILE).is_file()


# ---------------------------------------------------------------- data files
def _npz_bomb(path, n_bytes, compression, name="X.npy"):
    """An .npz whose one member expands to ``n_bytes`` of zeros (with an honest .npy header)."""
    header = io.BytesIO()
    if name.endswith(".npy"):
        np.lib.format.write_array_header_1_0(
            header, {"descr": "<f4", "fortran_order": False, "shape": (n_bytes // 400, 100)})
    chunk = bytes(2**20)
    with zipfile.ZipFile(path, "w", compression=compression) as archive:
        with archive.open(name, "w", force_zip64=True) as fh:
            fh.write(header.getvalue())
            for _ in range(n_bytes // len(chunk)):
                fh.write(chunk)
    return path


@pytest.mark.parametrize("compression", [zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA])
def test_an_npz_decompression_bomb_is_refused_before_it_expands(tmp_path, compression, capsys):
    """A 6 kB bzip2 .npz made aekit allocate and fill 8 GiB (tried: MemoryError traceback under a 3 GB limit)."""
    bomb = _npz_bomb(tmp_path / "bomb.npz", 80 * 2**20, compression)
    assert bomb.stat().st_size < 100_000
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match=r"bomb.npz:X.npy would expand .* to 83886\d\d\d bytes .*; refused as "
                                             "a possible decompression bomb"):
            load_array(bomb)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 10 * 2**20  # refused before numpy allocated (or filled) the array
    err = _one_line_cli(["train", str(bomb), "--out", str(tmp_path / "m"), "--max-epochs", "1"], capsys)
    assert "decompression bomb" in err


def test_a_well_compressed_but_small_npz_still_loads(tmp_path):
    X = np.zeros((1000, 50), dtype=np.float32)  # compresses ~1000-fold, but is only 200 kB
    np.savez_compressed(tmp_path / "zeros.npz", X=X)
    np.testing.assert_array_equal(load_array(tmp_path / "zeros.npz")[0], X)


def test_an_npz_member_that_is_not_an_array_is_refused(tmp_path, capsys):
    """np.load returns a non-.npy member as raw bytes: a bytes object reached aekit (AttributeError traceback)."""
    with zipfile.ZipFile(tmp_path / "raw.npz", "w") as archive:
        archive.writestr("X", b"not an array")
    with pytest.raises(ValueError, match=r"raw.npz:X is not a .npy array"):
        load_array(tmp_path / "raw.npz")
    _one_line_cli(["train", str(tmp_path / "raw.npz"), "--out", str(tmp_path / "m")], capsys)
    bomb = _npz_bomb(tmp_path / "rawbomb.npz", 80 * 2**20, zipfile.ZIP_BZIP2, name="X")  # read whole by zip.read
    with pytest.raises(ValueError, match="refused as a possible decompression bomb"):
        load_array(bomb)


# ---------------------------------------------------------------- images
@pytest.fixture
def image_bomb(tmp_path):
    """A 50 kB PNG declaring 20000 x 20000 pixels: Pillow refuses to decode it."""
    directory = tmp_path / "images"
    directory.mkdir()
    Image.new("1", (20000, 20000)).save(directory / "bomb.png")
    return directory


def test_read_image_refuses_a_decompression_bomb_in_one_line(image_bomb, tmp_path, capsys):
    """read_image let Pillow's DecompressionBombError out: `aekit train-denoiser` ended in a traceback."""
    with pytest.raises(ValueError, match=r"bomb.png is refused as a possible decompression bomb \(Image size "
                                         r"\(400000000 pixels\)") as info:
        read_image(image_bomb / "bomb.png")
    assert len(str(info.value).splitlines()) == 1
    _one_line_cli(["train-denoiser", str(image_bomb), "--out", str(tmp_path / "dn"), "--max-epochs", "1"], capsys)
    with pytest.raises(ValueError, match="decompression bomb"):  # the data loader already said so
        load_array(image_bomb)


def test_data_larger_than_memory_is_one_line_in_the_cli(tmp_path, monkeypatch, capsys):
    """A sparse .npy (4 kB on disk in a tarball, 37 GiB declared) ended `aekit train` in numpy's MemoryError
    traceback; the file is complete, so the header check passes it."""
    from aekit.datasets import _files

    def too_big(path, mmap):
        return np.empty(2**62, dtype=np.uint8)  # numpy refuses at once: nothing is allocated

    monkeypatch.setattr(_files, "_load_numpy", too_big)
    np.save(tmp_path / "x.npy", np.zeros((4, 3)))
    err = _one_line_cli(["train", str(tmp_path / "x.npy"), "--out", str(tmp_path / "m")], capsys)
    assert "Unable to allocate" in err


# ---------------------------------------------------------------- checkpoints
def _tamper_checkpoint(directory, edit):
    """Rewrite DIR/checkpoint.safetensors after ``edit(header, tensors)``."""
    from safetensors import safe_open
    from safetensors.torch import save_file

    from aekit._fileformat import read_safetensors

    path = directory / "checkpoint.safetensors"
    with safe_open(str(path), framework="pt") as f:
        header = json.loads(f.metadata()["aekit"])
    tensors = read_safetensors(path)
    header["state"]["epoch"] = header["meta"]["epoch"] = 1  # two epochs left to train: the optimiser steps
    edit(header, tensors)
    save_file(tensors, str(path), metadata={"aekit": json.dumps(header)})


def _shrink_exp_avg(header, tensors):
    import torch

    tensors["state/optimizer/state/0/exp_avg"] = torch.zeros(7)  # the parameter has 4 x 5 = 20 numbers


def _inject_scheduler_attribute(header, tensors):
    header["state"]["scheduler"]["optimizer"] = 1


def _shadow_scheduler_method(header, tensors):
    header["state"]["scheduler"]["step"] = 1  # an instance attribute hiding the method: 'int' is not callable


def _wrong_best_weights(header, tensors):
    import torch

    header["state"]["best_state"] = {"encoder.0.weight": {"$tensor": "best"}}
    header["state"]["best_value"] = -1e30  # never improved on: restored at the end
    tensors["best"] = torch.zeros(3)


@pytest.mark.parametrize("edit", [_shrink_exp_avg, _inject_scheduler_attribute, _shadow_scheduler_method,
                                  _wrong_best_weights])
def test_resuming_a_crafted_checkpoint_is_refused_in_one_line(tmp_path, edit):
    """A checkpoint made for the user's data and flags (the attacker sends both) may hold any optimiser state.

    exp_avg of 7 numbers for a 4 x 5 weight: torch's fused CPU Adam read and wrote past its end ("free(): invalid
    next size (fast)", the process aborted); a scheduler entry 'optimizer': 1 replaced the scheduler's optimiser
    (AttributeError traceback); best weights of the wrong shape failed at the end of training. In a subprocess:
    a regression corrupts memory.
    """
    import subprocess
    import sys

    np.savetxt(tmp_path / "x.csv", np.random.default_rng(0).random((20, 5)), delimiter=",")
    argv = [str(tmp_path / "x.csv"), "--out", str(tmp_path / "m"), "--max-epochs", "3", "--checkpoint-dir",
            str(tmp_path / "ck"), "-q", "--hidden-layer-sizes", "4", "--n-components", "2", "--threads", "1"]
    assert main(["train", *argv]) == 0
    _tamper_checkpoint(tmp_path / "ck", edit)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src"), "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-m", "aekit", "train", *argv, "--resume", "--overwrite"],
                          capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 2, done.stderr[-2000:]
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr[-2000:]
    assert "checkpoint.safetensors does not fit this training run" in done.stderr


# ---------------------------------------------------------------- downloads
def test_a_download_that_never_ends_is_cut_off_and_leaves_nothing(tmp_path, monkeypatch):
    """Fashion-MNIST is served over plain HTTP: a man in the middle could stream bytes until the disk filled
    (the md5 was only compared at the end, and the timeout only counts silence)."""
    from aekit.datasets import _fetch

    source = tmp_path / "endless.gz"
    source.write_bytes(bytes(3 * 2**20))
    monkeypatch.setattr(_fetch, "MAX_DOWNLOAD_BYTES", 2**20)
    dest = tmp_path / "cache" / "train-images-idx3-ubyte.gz"
    with pytest.raises(OSError, match=r"sent more than 1048576 bytes; .* is at most that"):
        _fetch._download(source.as_uri(), dest, "0" * 32)
    assert not dest.exists() and list(dest.parent.iterdir()) == []  # no partial file left behind


# ---------------------------------------------------------------- aekit info
def _edited_model(model_dir, tmp_path, edit, metrics=None):
    bad = _copy(model_dir, tmp_path / "bad")
    config = json.loads((bad / CONFIG_FILE).read_text())
    edit(config)
    (bad / CONFIG_FILE).write_text(json.dumps(config))
    if metrics is not None:
        (bad / "metrics.json").write_text(metrics)
    return bad


def _escapes(config):
    config["aekit_version"] = "0.1.0\x1b]0;pwned\x07\x1b[2J"  # retitle the terminal, clear the screen
    config["fitted"]["n_iter_"] = "1\x1b[8m"  # hide what follows


def test_aekit_info_never_prints_control_characters_from_a_file(model_dir, tmp_path, capsys):
    """`aekit info` printed a config's strings raw: ESC sequences from the file drove the user's terminal."""
    bad = _edited_model(model_dir, tmp_path, _escapes, metrics=json.dumps({"\x1b[31mred": 1}))
    assert main(["info", str(bad)]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x07" not in out
    assert "aekit 0.1.0\\x1b]0;pwned\\x07\\x1b[2J, format 1" in out and "\\x1b[31mred" in out


@pytest.mark.parametrize("edit, metrics", [
    (lambda c: c.pop("aekit_version"), None),  # KeyError traceback
    (lambda c: c["fitted"].pop("n_iter_"), None),  # AttributeError traceback
    (lambda c: c["fitted"].update(fit_time_="x"), None),  # "Unknown format code 'f'"
    (lambda c: None, "[1, 2]"),  # metrics.json a list: AttributeError traceback
    (lambda c: None, "{oops"),  # a JSONDecodeError naming no file
])
def test_aekit_info_shows_a_model_that_loads_whatever_its_optional_fields_hold(model_dir, tmp_path, capsys, edit,
                                                                                metrics):
    bad = _edited_model(model_dir, tmp_path, edit, metrics)
    load(bad)  # the library loads it: info must show it
    assert main(["info", str(bad)]) == 0
    assert "5 features -> 2 components" in capsys.readouterr().out
