"""aekit as pip installs it: declared dependencies, lower bounds, version, metadata."""

import ast
import re
import sys
from pathlib import Path

import pytest

tomllib = pytest.importorskip("tomllib")  # Python 3.11+

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "aekit"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
PROJECT = PYPROJECT["project"]

# Import name -> distribution name, where they differ.
DISTRIBUTIONS = {"sklearn": "scikit-learn", "skimage": "scikit-image", "PIL": "pillow"}


def _name(requirement):
    return re.match(r"[A-Za-z0-9_.-]+", requirement).group(0).lower()


def _lower_bound(distribution):
    for requirement in PROJECT["dependencies"]:
        if _name(requirement) == distribution:
            found = re.search(r">=\s*([0-9][0-9.]*)", requirement)
            return tuple(int(part) for part in found.group(1).split(".")) if found else ()
    raise AssertionError(f"{distribution} is not a declared dependency")


def _sources():
    return {path: path.read_text() for path in SRC.rglob("*.py")}


def _imported_packages():
    """Top-level packages imported anywhere in src/aekit (inside functions too) -> a file importing it."""
    found = {}
    for path, text in _sources().items():
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                modules = [node.module]
            else:
                continue
            for module in modules:
                found.setdefault(module.split(".")[0], path.relative_to(SRC).as_posix())
    return found


def _third_party():
    return {name: where for name, where in _imported_packages().items()
            if name not in sys.stdlib_module_names and name not in ("aekit", "__future__")}


def test_every_runtime_import_is_a_declared_dependency():
    declared = {_name(r) for r in PROJECT["dependencies"]}
    missing = {name: where for name, where in _third_party().items()
               if DISTRIBUTIONS.get(name, name).lower() not in declared}
    assert not missing, f"imported at run time but not in [project] dependencies: {missing}"


def test_every_declared_dependency_is_used():
    imported = {DISTRIBUTIONS.get(name, name).lower() for name in _third_party()}
    unused = {_name(r) for r in PROJECT["dependencies"]} - imported
    assert not unused, f"declared but never imported by src/aekit: {unused}"


def test_dev_only_packages_are_not_imported_at_run_time():
    dev = {_name(r) for r in PROJECT["optional-dependencies"]["dev"]}
    leaked = {name: where for name, where in _third_party().items() if name.lower() in dev}
    assert not leaked, f"needs the dev extra at run time: {leaked}"


# APIs that set a dependency's lower bound: (distribution, first version with it, what, regex in src/aekit).
MINIMUM_VERSIONS = [
    ("scikit-learn", (1, 6), "sklearn.utils.validation.validate_data", r"\bvalidate_data\("),
    ("scikit-learn", (1, 6), "__sklearn_tags__", r"__sklearn_tags__"),
    ("scikit-learn", (1, 6), "check_array(ensure_all_finite=...)", r"\bensure_all_finite="),
    ("scikit-image", (0, 19), "structural_similarity(channel_axis=...)", r"\bchannel_axis="),
    ("numpy", (1, 20), "sliding_window_view", r"\bsliding_window_view\b"),
]


@pytest.mark.parametrize("distribution, version, api, pattern", MINIMUM_VERSIONS,
                         ids=[f"{d}-{api}" for d, _, api, _ in MINIMUM_VERSIONS])
def test_lower_bound_has_the_apis_used(distribution, version, api, pattern):
    if not any(re.search(pattern, text) for text in _sources().values()):
        pytest.skip(f"{api} is no longer used")
    assert _lower_bound(distribution) >= version, (
        f"src/aekit uses {api}, new in {distribution} {'.'.join(map(str, version))}; "
        f"pyproject.toml allows {distribution}>={'.'.join(map(str, _lower_bound(distribution)))}"
    )


def test_version_is_written_once_and_reported_by_the_cli(capsys):
    import aekit
    from aekit.cli import main

    assert "version" not in PROJECT and "version" in PROJECT["dynamic"]
    assert PYPROJECT["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "aekit.__version__"}
    assert re.fullmatch(r"\d+(\.\d+)*((a|b|rc)\d+)?(\.post\d+)?(\.dev\d+)?", aekit.__version__)  # PEP 440
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"aekit {aekit.__version__}"


def test_license_file_is_shipped_and_matches_the_declared_license():
    assert PROJECT["license"] == "BSD-3-Clause"
    assert PROJECT["license-files"] == ["LICENSE"]
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("BSD 3-Clause License") and "Neither the name of the copyright holder" in text


def test_package_is_marked_typed():
    """PEP 561: without py.typed, mypy ignores aekit's annotations ("missing library stubs or py.typed marker")."""
    assert (SRC / "py.typed").is_file()


def test_descriptions_name_every_kind_of_autoencoder():
    """PyPI's summary and 'aekit --help' list the estimators aekit exports (SparseAutoencoder -> 'sparse')."""
    import aekit
    from aekit.cli import build_parser

    kinds = ["deep"] + [name[: -len("Autoencoder")].lower() for name in aekit.__all__
                        if name.endswith("Autoencoder") and name != "Autoencoder"]
    for text in (PROJECT["description"], build_parser().description):
        assert [kind for kind in kinds if kind not in text] == [], text
