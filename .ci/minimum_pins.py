"""Print pip requirements pinning each ``>=`` floor of pyproject.toml (dependencies and the dev extra).

A floor of two parts (``numpy>=1.23``) is pinned to its release series
(``numpy~=1.23.0``: the newest 1.23.x, as the first patch releases often have
no wheels for the Python in use); a floor of three parts exactly
(``safetensors==0.4.4``). torch is left out: .ci/minimum-versions installs the
CPU wheel of the version CI uses (older CPU wheels are not on the registry
this project's machines reach).
"""

import re
import sys
import tomllib
from pathlib import Path


def pins(pyproject: Path) -> list[str]:
    project = tomllib.loads(pyproject.read_text())["project"]
    out = []
    for requirement in [*project["dependencies"], *project["optional-dependencies"]["dev"]]:
        match = re.fullmatch(r"([A-Za-z0-9_.-]+)>=([0-9.]+)", requirement.split(";")[0].strip())
        if match is None:
            sys.exit(f"{requirement!r}: expected 'name>=version'")
        name, floor = match.groups()
        if name == "torch":
            continue
        parts = floor.split(".")
        out.append(f"{name}~={floor}.0" if len(parts) <= 2 else f"{name}=={floor}")
    return out


if __name__ == "__main__":
    print("\n".join(pins(Path(__file__).resolve().parent.parent / "pyproject.toml")))
