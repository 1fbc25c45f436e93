"""The API documentation says what the code does: docstring parameters and
defaults match the signatures, each estimator's Attributes section lists
exactly the fitted attributes it sets, and the command line's help shows the
defaults a command really uses.

The docstrings are parsed with a small numpydoc-section reader (no numpydoc
dependency): a section is a title underlined with dashes, an entry a line at
the section's indentation, ``name : type``.
"""

import argparse
import ast
import importlib
import inspect
import pkgutil
import re

import numpy as np
import pytest

import aekit
from aekit import Autoencoder

# ----------------------------------------------------------------------------- docstring parsing


def _sections(obj) -> dict:
    """{title: [lines]} of the numpydoc sections of ``obj``'s docstring."""
    lines = (inspect.getdoc(obj) or "").splitlines()
    out, current = {}, None
    for i, line in enumerate(lines):
        if i + 1 < len(lines) and line.strip() and re.fullmatch(r"-{3,}", lines[i + 1].strip()):
            current = line.strip()
            out[current] = []
        elif current is not None and not re.fullmatch(r"-{3,}", line.strip()):
            out[current].append(line)
    return out


def _entries(obj, section="Parameters") -> dict:
    """{name: type text} of one section; ``a, b : t`` gives two names."""
    found = {}
    for line in _sections(obj).get(section, []):
        m = re.match(r"^(\*{0,2}[A-Za-z_]\w*(?:\s*,\s*\*{0,2}[A-Za-z_]\w*)*)\s*(?::\s*(.*))?$", line)
        if m:
            for name in m.group(1).split(","):
                found[name.strip().lstrip("*")] = m.group(2) or ""
    return found


def _documented_default(type_text):
    """The value after ``default=`` in a type line, or a sentinel when there is none."""
    m = re.search(r"default\s*=\s*(.+)$", type_text)
    if not m:
        return _NO_DEFAULT
    try:
        return ast.literal_eval(m.group(1).strip())
    except (ValueError, SyntaxError):
        return m.group(1).strip()


_NO_DEFAULT = object()


def _public_modules():
    names = ["aekit"]
    for info in pkgutil.walk_packages(aekit.__path__, "aekit."):
        if info.name.endswith("__main__") or any(p.startswith("_") for p in info.name.split(".")[1:]):
            continue
        names.append(info.name)
    return names


def _public_callables():
    """(qualified name, object) of every public function, class and method, once each."""
    seen, out = set(), []
    for module_name in _public_modules():
        module = importlib.import_module(module_name)
        for name in getattr(module, "__all__", ()):
            obj = getattr(module, name)
            if not callable(obj) or not getattr(obj, "__module__", "").startswith("aekit"):
                continue
            targets = [(f"{module_name}.{name}", obj)]
            if inspect.isclass(obj):  # its own methods and those of aekit's mixins it is built from
                bases = [c for c in obj.__mro__ if c.__module__.startswith("aekit")]
                targets += [(f"{module_name}.{name}.{a}", v) for c in bases for a, v in vars(c).items()
                            if not a.startswith("_") and inspect.isfunction(v)]
            for qualname, target in targets:
                if id(target) not in seen:
                    seen.add(id(target))
                    out.append((qualname, target))
    return out


PUBLIC = _public_callables()
ESTIMATORS = [getattr(aekit, n) for n in aekit.__all__
              if inspect.isclass(getattr(aekit, n)) and issubclass(getattr(aekit, n), Autoencoder)]


def _signature(obj):
    try:
        return inspect.signature(obj)
    except (TypeError, ValueError):
        return None


# ----------------------------------------------------------------------------- parameters vs signatures


def test_every_public_module_declares_all():
    missing = [m for m in _public_modules() if not hasattr(importlib.import_module(m), "__all__")]
    assert not missing


@pytest.mark.parametrize("qualname,obj", [pytest.param(*p, id=p[0]) for p in PUBLIC if "Parameters" in _sections(p[1])])
def test_documented_parameters_match_the_signature(qualname, obj):
    sig = _signature(obj)
    if sig is None:
        pytest.skip("no signature")
    params = {n for n in sig.parameters if n not in ("self", "cls")}
    documented = _entries(obj)
    # an Autoencoder subclass documents what it adds or changes; the rest is its ancestors' docs
    inherited = {}
    if inspect.isclass(obj) and issubclass(obj, Autoencoder):
        for ancestor in obj.__mro__[1:]:
            if ancestor is not object and issubclass(ancestor, Autoencoder):
                for name, type_text in _entries(ancestor).items():
                    inherited.setdefault(name, (ancestor, type_text))
    assert not set(documented) - params, f"documented but not parameters: {set(documented) - params}"
    undocumented = params - set(documented) - set(inherited)
    assert not undocumented, f"parameters not documented: {undocumented}"
    for name, type_text in documented.items():
        value = _documented_default(type_text)
        if value is not _NO_DEFAULT:
            assert sig.parameters[name].default == value, f"{name}: docs say default={value!r}"
    for name in params - set(documented):  # "takes every parameter of ...": with the same default, then
        ancestor, type_text = inherited[name]
        actual, theirs = sig.parameters[name].default, inspect.signature(ancestor).parameters[name].default
        assert actual == theirs, (f"{name} defaults to {actual!r} here, {theirs!r} in {ancestor.__name__}, whose "
                                  "docstring is the one that describes it: document it here")


@pytest.mark.parametrize("cls", [Autoencoder, *ESTIMATORS], ids=lambda c: c.__name__)
def test_documented_choices_are_accepted(cls):
    """A ``{"a", "b"}`` type lists values the parameter table accepts (for Autoencoder: all of them)."""
    for name, type_text in _entries(cls).items():
        m = re.match(r"\{(.*?)\}", type_text)
        spec = cls._param_specs.get(name)
        if not m or spec is None or not spec.choices:
            continue
        documented = set(ast.literal_eval(f"[{m.group(1)}]"))
        assert documented <= set(spec.choices), f"{name}: {documented - set(spec.choices)} not accepted"
        if cls is Autoencoder:
            assert documented == set(spec.choices), f"{name}: {set(spec.choices) - documented} not documented"


# ----------------------------------------------------------------------------- fitted attributes


def _documented_attributes(cls) -> set:
    names = set()
    for klass in cls.__mro__:
        if klass is not object and klass.__module__.startswith("aekit"):
            names |= set(_entries(klass, "Attributes"))
    return names


def _fitted_attributes(est) -> set:
    return {k for k in vars(est) if k.endswith("_") and not k.startswith("_")}


def _data(missing=False):
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(0)
    X = rng.random((60, 6))
    if missing:
        X[rng.random(X.shape) < 0.2] = np.nan
    return pd.DataFrame(X, columns=[f"c{i}" for i in range(6)])  # string column names: feature_names_in_


_TINY = dict(hidden_layer_sizes=(4,), max_epochs=2, random_state=0, device="cpu")
_VARIANTS = {  # the settings that between them set every documented attribute
    "Autoencoder": [dict(scaling="standard")],
    "SparseAutoencoder": [dict(n_components=8, sparsity="l1"), dict(n_components=8, sparsity="kl")],
    "DenoisingAutoencoder": [dict()],
    "ContractiveAutoencoder": [dict()],
    "VariationalAutoencoder": [dict(loss="bce")],
    "AutoencoderImputer": [dict()],
}


@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda c: c.__name__)
def test_attributes_section_lists_exactly_the_fitted_attributes(cls):
    assert cls.__name__ in _VARIANTS, f"add {cls.__name__}'s settings to _VARIANTS"
    X = _data(missing=cls.__name__ == "AutoencoderImputer")
    fitted = set()
    for settings in _VARIANTS[cls.__name__]:
        fitted |= _fitted_attributes(cls(**_TINY, **settings).fit(X))
    documented = _documented_attributes(cls)
    assert not fitted - documented, f"fitted but not in Attributes: {fitted - documented}"
    own = set(_entries(cls, "Attributes"))
    assert not own - fitted, f"in Attributes but never set by fit: {own - fitted}"


def test_imputer_ensemble_attributes():
    X = _data(missing=True)
    member = aekit.AutoencoderImputer(**{**_TINY, "random_state": None})
    ens = aekit.ImputerEnsemble(member, n_members=2, random_state=0).fit(X)
    assert _fitted_attributes(ens) == set(_entries(aekit.ImputerEnsemble, "Attributes"))


# ----------------------------------------------------------------------------- command-line help


def _subparsers():
    from aekit.cli import build_parser

    action = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return action.choices


def test_every_flag_has_help():
    missing = [(cmd, a.option_strings) for cmd, p in _subparsers().items() for a in p._actions
               if a.option_strings and a.dest != "help" and not a.help]
    assert not missing


def test_train_denoiser_help_shows_the_defaults_it_uses():
    from aekit.cli._denoise import TRAIN_DEFAULTS

    parser = _subparsers()["train-denoiser"]
    helps = {a.dest: a.help for a in parser._actions}
    for name, value in TRAIN_DEFAULTS.items():
        assert helps[name].endswith(f"(default: {value!r})"), helps[name]


def test_choices_only_some_models_take_are_named():
    parser = _subparsers()["train"]
    helps = {a.dest: a.help for a in parser._actions}
    assert "[unet: --model denoising, imputer]" in helps["architecture"]
    assert "[pattern: --model imputer]" in helps["corruption"]
