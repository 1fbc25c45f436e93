"""Print pip requirements pinning each ``>=`` floor of pyproject.toml (dependencies and the dev extra).

A floor of two parts (``numpy>=1.23``) is pinned to its release series
(``numpy~=1.23.0``: the newest 1.23.x, as the first patch releases often have
no wheels for the Python in use); a floor of three parts exactly
(``safetensors==0.4.4``). torch too: ``torch~=2.2.0`` is PyPI's default build
of torch 2.2 (with CUDA: a 2.5 GB download; .ci/minimum-versions can swap it).
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
        parts = floor.split(".")
        out.append(f"{name}~={floor}.0" if len(parts) <= 2 else f"{name}=={floor}")
    return out


if __name__ == "__main__":
    print("\n".join(pins(Path(__file__).resolve().parent.parent / "pyproject.toml")))
