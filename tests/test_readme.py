"""The README stays true: its code parses, its commands and flags exist, its names import, its files exist.

Nothing here trains or runs a command: command lines go through aekit's real
argument parser (parse only) and Python names are looked up, not called. Each
check is parametrized by the README line it comes from, so a failure names it.
"""

from __future__ import annotations

import ast
import importlib
import re
import shlex
from pathlib import Path

import pytest

from aekit.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
LINES = README.read_text(encoding="utf-8").splitlines()


def _blocks(language: str) -> list[tuple[int, list[str]]]:
    """(first line number, lines) of every fenced block of ``language``; numbers count from 1."""
    blocks, current, start = [], None, 0
    for number, line in enumerate(LINES, 1):
        if current is None and line.strip() == f"```{language}":
            current, start = [], number + 1
        elif current is not None and line.strip() == "```":
            blocks.append((start, current))
            current = None
        elif current is not None:
            current.append(line)
    return blocks


def _fenced_line_numbers() -> set[int]:
    inside, numbers = False, set()
    for number, line in enumerate(LINES, 1):
        if line.startswith("```"):
            inside = not inside
            numbers.add(number)
        elif inside:
            numbers.add(number)
    return numbers


def _shell_commands() -> list[tuple[int, list[str]]]:
    """(line number, words) of every ```bash command: continuations joined, trailing comments cut, `&&` split."""
    commands = []
    for start, lines in _blocks("bash"):
        pending, first = "", None
        for number, line in enumerate(lines, start):
            if first is None:
                first = number
            if line.rstrip().endswith("\\"):
                pending += line.rstrip()[:-1] + " "
                continue
            text = pending + line
            pending, at = "", first
            first = None
            segment = []
            for word in shlex.split(text, comments=True) + ["&&"]:  # comments=True drops a trailing `# comment`
                if word in ("&&", "||", ";", "|"):  # `pip install -e . && aekit compare ...`: two commands
                    if segment:
                        commands.append((at, segment))
                    segment = []
                else:
                    segment.append(word)
    return commands


def _aekit_argv(words: list[str]) -> list[str] | None:
    """The aekit arguments of a command (``aekit ...`` or ``torchrun ... -m aekit ...``), else None."""
    if words[0] == "aekit":
        return words[1:]
    if words[0] == "torchrun" and "-m" in words:
        at = words.index("-m")
        if words[at + 1:at + 2] == ["aekit"]:
            return words[at + 2:]
    return None


def _line_id(item) -> str:
    return f"README:{item[0]}"


PARSER = build_parser()
SUBCOMMANDS = PARSER._subparsers._group_actions[0].choices  # {name: ArgumentParser}

#: (line number, command as text, aekit argv) of every aekit command in a ```bash block
COMMANDS = [(n, shlex.join(w), _aekit_argv(w)) for n, w in _shell_commands() if _aekit_argv(w) is not None]
PYTHON_BLOCKS = _blocks("python")


def test_readme_has_what_these_tests_read():
    assert len(COMMANDS) >= 20 and len(PYTHON_BLOCKS) >= 6
    assert any(argv[0] == "train" for _, _, argv in COMMANDS)
    assert any(command.startswith("torchrun") for _, command, _ in COMMANDS)


def _check_flags(argv: list[str], where: str) -> None:
    """Every ``--flag`` is an exact option of its sub-command (argparse would accept a prefix)."""
    assert argv and argv[0] in SUBCOMMANDS, f"{where}: no aekit sub-command {argv[:1]}; have {sorted(SUBCOMMANDS)}"
    known = SUBCOMMANDS[argv[0]]._option_string_actions
    for word in argv[1:]:
        flag = word.split("=", 1)[0]
        if flag.startswith("--"):
            assert flag in known, f"{where}: `aekit {argv[0]}` has no option {flag}"


@pytest.mark.parametrize("item", COMMANDS, ids=_line_id)
def test_shell_command_parses(item, capsys):
    number, command, argv = item
    where = f"README line {number}: {command}"
    _check_flags(argv, where)
    if "..." in argv:  # an elided command (`aekit train ... --resume`): its flags were checked above
        return
    try:
        args = PARSER.parse_args(argv)
    except SystemExit:
        pytest.fail(f"{where}\n{capsys.readouterr().err}")
    assert args.command == argv[0] and callable(args.func)


def _inline_aekit_spans() -> list[tuple[int, str]]:
    """(line number, span) of each `aekit COMMAND ...` in running text, e.g. `aekit train --model sparse`.

    The aekit part of a `torchrun ... -m aekit COMMAND ...` span counts too.
    """
    fenced = _fenced_line_numbers()
    spans = []
    for number, line in enumerate(LINES, 1):
        if number not in fenced:
            for m in re.finditer(r"`(?:torchrun [^`]*?-m )?(aekit [a-z][^`]*)`", line):
                spans.append((number, m.group(1)))
    return spans


@pytest.mark.parametrize("item", _inline_aekit_spans(), ids=_line_id)
def test_inline_command_exists(item):
    number, span = item
    _check_flags(span.split()[1:], f"README line {number}: `{span}`")


def _inline_spans() -> list[tuple[int, str]]:
    """(line number, text) of every `code span` in running text."""
    fenced = _fenced_line_numbers()
    return [(n, span) for n, line in enumerate(LINES, 1) if n not in fenced for span in re.findall(r"`([^`]+)`", line)]


def _flags(text: str) -> list[str]:
    return re.findall(r"(?<![\w-])--[a-z][a-z0-9-]*(?![\w])", text)


def _script_flags(path: Path) -> set[str]:
    return set(re.findall(r"[\"'](--[a-z][a-z0-9-]*)[\"']", path.read_text(encoding="utf-8")))


ALL_AEKIT_FLAGS = {flag for p in SUBCOMMANDS.values() for flag in p._option_string_actions}
BENCHMARKS = sorted((ROOT / "benchmarks").rglob("*.py"))


@pytest.mark.parametrize("item", [(n, s) for n, s in _inline_spans() if _flags(s)], ids=_line_id)
def test_inline_flag_exists(item):
    """A flag in the text (`--max-time`, `--eval holdout`) is an option of aekit or of the benchmark it names."""
    number, span = item
    words = span.split()
    if words[0] in ("pip", "torchrun", "sbatch"):  # other programs' flags; torchrun's aekit part is checked above
        return
    script = next((w for w in words if w.startswith("benchmarks/") and w.endswith(".py")), None)
    if script is not None:
        assert (ROOT / script).is_file(), f"README line {number}: no {script}"
        known, what = _script_flags(ROOT / script), script
    else:
        known = ALL_AEKIT_FLAGS | set().union(*map(_script_flags, BENCHMARKS))
        what = "any aekit sub-command or benchmark"
    for flag in _flags(span):
        assert flag in known, f"README line {number}: `{span}`: {what} has no option {flag}"


def _resolve(dotted: str):
    """Import the longest importable module prefix of ``dotted``, then follow attributes; raises if missing."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError as err:
            if err.name is None or not ".".join(parts[:cut]).startswith(err.name):
                raise  # the module exists but one of its imports does not
            continue
        for name in parts[cut:]:
            obj = getattr(obj, name)
        return obj
    raise ModuleNotFoundError(dotted)


@pytest.mark.parametrize("block", PYTHON_BLOCKS, ids=_line_id)
def test_python_block_parses(block):
    start, lines = block
    try:
        ast.parse("\n".join(lines))
    except SyntaxError as err:
        pytest.fail(f"README line {start + err.lineno - 1}: {err.msg}")


def _python_names() -> list[tuple[int, str]]:
    """(line number, dotted name) of every aekit name a README python block imports or uses."""
    names = []
    for start, lines in PYTHON_BLOCKS:
        try:
            tree = ast.parse("\n".join(lines))
        except SyntaxError:  # test_python_block_parses reports it
            continue
        modules = {}  # local name -> dotted aekit name, for `from aekit import distributed`
        for node in ast.walk(tree):
            line = start + getattr(node, "lineno", 1) - 1
            if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "aekit":
                for alias in node.names:
                    names.append((line, f"{node.module}.{alias.name}"))
                    modules[alias.asname or alias.name] = f"{node.module}.{alias.name}"
            elif isinstance(node, ast.Import):
                names += [(line, a.name) for a in node.names if a.name.split(".")[0] == "aekit"]
                if any(a.name.split(".")[0] == "aekit" and a.asname is None for a in node.names):
                    modules["aekit"] = "aekit"
        for node in ast.walk(tree):
            # `distributed.session`, `aekit.checkpoint.checkpointing`: attribute chains on aekit names
            if isinstance(node, ast.Attribute):  # inner links of a chain come out too: prefixes, also checked
                chain, inner = [node.attr], node.value
                while isinstance(inner, ast.Attribute):
                    chain.append(inner.attr)
                    inner = inner.value
                if isinstance(inner, ast.Name) and inner.id in modules:
                    base = modules[inner.id]
                    names.append((start + node.lineno - 1, ".".join([base, *reversed(chain)])))
    return sorted(set(names))


@pytest.mark.parametrize("item", _python_names(), ids=lambda item: f"README:{item[0]}:{item[1]}")
def test_python_name_exists(item):
    number, dotted = item
    try:
        _resolve(dotted)
    except (ImportError, AttributeError) as err:
        pytest.fail(f"README line {number}: {dotted} does not exist ({err})")


def _prose_names() -> list[tuple[int, str]]:
    """(line number, name) of dotted `aekit.x.y` names in running text."""
    fenced = _fenced_line_numbers()
    found = []
    for number, line in enumerate(LINES, 1):
        if number not in fenced:
            found += [(number, m.group(0)) for m in re.finditer(r"\baekit(?:\.[A-Za-z_]\w*)+", line)]
    return found


@pytest.mark.parametrize("item", _prose_names(), ids=lambda item: f"README:{item[0]}:{item[1]}")
def test_prose_name_exists(item):
    number, dotted = item
    try:
        _resolve(dotted)
    except (ImportError, AttributeError) as err:
        pytest.fail(f"README line {number}: {dotted} does not exist ({err})")


def _repository_paths() -> list[tuple[int, str]]:
    """(line number, path) of every docs/, benchmarks/, tests/ or .ci/ path the README names or links."""
    found = []
    for number, line in enumerate(LINES, 1):
        for m in re.finditer(r"(?<![\w/.-])((?:docs|benchmarks|tests|\.ci)/[\w./-]*[\w])", line):
            found.append((number, m.group(1)))
    return found


@pytest.mark.parametrize("item", _repository_paths(), ids=lambda item: f"README:{item[0]}:{item[1]}")
def test_named_file_exists(item):
    number, path = item
    assert (ROOT / path).exists(), f"README line {number} names {path}, which is not in the repository"


def test_paths_found():
    paths = {path for _, path in _repository_paths()}
    assert {"docs/fmnist_vs_pca.png", "benchmarks/features.py", "benchmarks/results/complete.json"} <= paths


def _written_paths() -> list[tuple[int, str, bool]]:
    """(line, output path, may replace) for the README's aekit commands and ``.save("DIR")`` calls, in order.

    torchrun lines are left out: they show the same run on one machine or on several, alternatives.
    """
    found = []
    for number, command, argv in COMMANDS:
        if command.startswith("torchrun") or "--out" not in argv or "..." in argv:
            continue
        replaces = "--overwrite" in argv or "--resume" in argv
        found.append((number, argv[argv.index("--out") + 1].rstrip("/"), replaces))
    for start, lines in PYTHON_BLOCKS:
        for offset, line in enumerate(lines):
            found += [(start + offset, m.group(1).rstrip("/"), True)
                      for m in re.finditer(r"\.save\(\s*[\"']([^\"']+)[\"']", line)]
    return sorted(found)


def test_walking_the_readme_never_hits_an_existing_output():
    """Run top to bottom, no command refuses because an earlier one wrote its --out (outputs are not overwritten)."""
    first = {}
    for number, path, replaces in _written_paths():
        if path in first and not replaces:
            pytest.fail(f"README line {number} writes {path}, which line {first[path]} already wrote; "
                        "aekit would refuse it without --overwrite: use another directory")
        first.setdefault(path, number)


def test_test_count_is_about_right():
    """"about N tests" in the README is within 10% of what pytest collects."""
    import subprocess
    import sys

    claimed = [(n, int(m.group(1).replace(",", ""))) for n, line in enumerate(LINES, 1)
               for m in re.finditer(r"about ([\d,]+) tests", line)]
    assert claimed, "the README no longer says how many tests there are; drop this test"
    out = subprocess.run([sys.executable, "-m", "pytest", "-q", "--co", "-p", "no:cacheprovider"], cwd=ROOT,
                         capture_output=True, text=True, timeout=120).stdout
    found = re.search(r"(\d+) tests? collected", out)
    assert found, out[-2000:]
    collected = int(found.group(1))
    for number, count in claimed:
        assert abs(count - collected) <= 0.10 * collected, \
            f"README line {number} says about {count} tests; pytest collects {collected}"


def _github_anchor(heading: str) -> str:
    """The id GitHub gives a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.lstrip("#").strip().lower())
    return text.replace(" ", "-")


def test_contents_links_every_section_to_its_heading():
    contents = next(line for line in LINES if line.startswith("**Contents:**"))
    linked = re.findall(r"\]\(#([^)]+)\)", contents)
    sections = [_github_anchor(line) for line in LINES if line.startswith("## ")]
    assert linked == sections
