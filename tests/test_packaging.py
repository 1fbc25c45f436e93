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
    # found by .ci/minimum-versions: each failed tests on the older version
    ("matplotlib", (3, 7), "legend(loc='outside ...')", r"loc=[\"']outside "),
    ("safetensors", (0, 4, 4), "a file with no tensors read back", r"\bsafe_open\("),
    ("pillow", (10, 3), "16-bit grey PNGs opened as mode 'I;16'", r"[\"']I;16[\"']"),
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


def _setuptools_new_enough():
    try:
        import setuptools
    except ImportError:
        return False
    return tuple(int(p) for p in re.findall(r"\d+", setuptools.__version__)[:1]) >= (77,)


@pytest.mark.slow
@pytest.mark.skipif(not _setuptools_new_enough(), reason="building the wheel needs setuptools>=77 installed")
def test_wheel_holds_the_package_and_nothing_else(tmp_path):
    """Build the wheel as pip does (setuptools' PEP 517 hooks, ~2 s) from a copy of the tree, and read it."""
    import shutil
    import subprocess
    import zipfile

    import aekit

    tree = tmp_path / "tree"
    shutil.copytree(ROOT / "src", tree / "src", ignore=shutil.ignore_patterns("*.egg-info"))  # __pycache__ kept
    for name in ("pyproject.toml", "README.md", "LICENSE", "MANIFEST.in"):
        shutil.copy(ROOT / name, tree / name)
    build = "import sys; from setuptools import build_meta; print(build_meta.build_wheel(sys.argv[1]))"
    result = subprocess.run([sys.executable, "-c", build, str(tmp_path)], cwd=tree, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    wheel = tmp_path / result.stdout.strip().splitlines()[-1]
    assert wheel.name == f"aekit-{aekit.__version__}-py3-none-any.whl"
    names = set(zipfile.ZipFile(wheel).namelist())
    info = f"aekit-{aekit.__version__}.dist-info"

    expected = {f"aekit/{p.relative_to(SRC).as_posix()}" for p in SRC.rglob("*.py") if "__pycache__" not in p.parts}
    assert expected - names == set()  # every module and subpackage (cli, datasets, metrics, ...)
    assert {"aekit/py.typed", f"{info}/licenses/LICENSE", f"{info}/entry_points.txt"} <= names
    extra = {n for n in names - expected if not n.startswith(info + "/")} - {"aekit/py.typed"}
    assert extra == set(), "files in the wheel that are not aekit's modules"
    assert not [n for n in names if n.endswith((".pyc", ".pyo")) or "__pycache__" in n]

    with zipfile.ZipFile(wheel) as zf:
        metadata = zf.read(f"{info}/METADATA").decode()
        entry_points = zf.read(f"{info}/entry_points.txt").decode()
    assert f"\nVersion: {aekit.__version__}\n" in metadata
    assert "\nDescription-Content-Type: text/markdown\n" in metadata
    assert "\nLicense-Expression: BSD-3-Clause\n" in metadata
    assert metadata.split("\n\n", 1)[1].strip() == (ROOT / "README.md").read_text().strip()
    assert {line.split(":", 1)[1].strip() for line in metadata.splitlines() if line.startswith("Requires-Dist:")
            and "extra ==" not in line} == set(PROJECT["dependencies"])
    assert "aekit = aekit.cli:main" in entry_points


def test_missing_data_messages_say_how_to_point_aekit_at_the_files(tmp_path, monkeypatch):
    """A user of the installed package has neither the repo's data nor the Debian package."""
    from aekit.cli import main
    from aekit.datasets import _mnist, load_fashion_mnist, load_olivetti

    monkeypatch.setattr(_mnist, "SYSTEM_DIRS", {"fashion-mnist": [], "mnist": []})
    with pytest.raises(FileNotFoundError, match=r"(?s)Searched, in order:.*--data-dir on the command line"):
        load_fashion_mnist(data_dir=tmp_path, download=False)
    with pytest.raises(FileNotFoundError, match=r"(?s)olivettifaces.mat.*--data-dir on the command line.*"
                                                r"allow downloading \(download=True; no --no-download\)"):
        load_olivetti(path=tmp_path, download=False)
    assert main(["reproduce", "hinton2006", "--dataset", "faces", "--data-dir", str(tmp_path), "--no-download",
                 "--out", str(tmp_path / "out"), "--quiet"]) == 2
    assert not (tmp_path / "out").exists()


def test_readme_commands_name_no_path_of_the_development_machine():
    """The README is the wheel's description: a user installing it has no /work/shared."""
    blocks = re.findall(r"```(?:bash|python)?\n(.*?)```", (ROOT / "README.md").read_text(), flags=re.S)
    assert [line for block in blocks for line in block.splitlines() if "/work/" in line] == []


def test_minimum_versions_script_pins_every_floor():
    sys.path.insert(0, str(ROOT / ".ci"))
    try:
        from minimum_pins import pins
    finally:
        sys.path.pop(0)
    pinned = pins(ROOT / "pyproject.toml")
    declared = [*PROJECT["dependencies"], *PROJECT["optional-dependencies"]["dev"]]
    assert sorted(_name(p) for p in pinned) == sorted(_name(r) for r in declared)
    assert "torch~=2.2.0" in pinned and "tifffile==2022.8.12" in pinned  # a series; an exact release
    assert (ROOT / ".ci" / "minimum-versions").stat().st_mode & 0o111  # executable, as .ci/run calls it
