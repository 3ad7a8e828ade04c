"""Print the requirements of fastcalc's optional extras, one per line, read from pyproject.toml.

CI uses it to add an extra's packages to a venv that already has fastcalc installed (so a hook does
not build fastcalc again): ``python tools/extras.py docs plot | xargs python -m pip install``.
Self-references such as ``fastcalc[explore]`` are expanded.
"""
import pathlib
import re
import sys

try:
    import tomllib
except ModuleNotFoundError:          # Python 3.10
    import tomli as tomllib


def requirements(names, table):
    out, seen = [], set()

    def add(name):
        if name in seen:
            return
        if name not in table:
            raise SystemExit(f"unknown extra {name!r}; known: {', '.join(sorted(table))}")
        seen.add(name)
        for req in table[name]:
            m = re.fullmatch(r"fastcalc\[([^\]]+)\]", req.strip())
            if m:
                for sub in m.group(1).split(","):
                    add(sub.strip())
            elif req not in out:
                out.append(req)

    for n in names:
        add(n)
    return out


if __name__ == "__main__":
    root = pathlib.Path(__file__).resolve().parent.parent
    table = tomllib.loads((root / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    print("\n".join(requirements(sys.argv[1:], table)))
