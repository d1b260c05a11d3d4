"""Compare two benchmark result files figure by figure: a rerun against the committed result.

    python benchmarks/compare_results.py OLD.json NEW.json --part shift --ignore wall_s --out OUT.json

Walks both JSON trees (only under the ``--part`` keys when given) and records every leaf:
equal, different (old and new value), only in one file, or ignored (a key matching an
``--ignore`` pattern anywhere on its path: wall times and other measurements of the machine,
not of the method). Numbers are equal when they are exactly equal (the result files store
rounded values; ``--tolerance`` allows a slack). ``OLD`` may be ``REV:PATH`` (read with
``git show``) so the committed file is compared without being overwritten.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import subprocess
import sys
from pathlib import Path


def _load(spec: str):
    if ":" in spec and not Path(spec).exists():
        rev, path = spec.split(":", 1)
        commit = subprocess.run(["git", "rev-parse", "--short", rev], capture_output=True, text=True, check=True).stdout.strip()
        return json.loads(subprocess.run(["git", "show", f"{rev}:{path}"], capture_output=True, text=True, check=True).stdout), f"{path} at {commit}"
    return json.loads(Path(spec).read_text()), spec


def _leaves(x, path=()):
    if isinstance(x, dict):
        for k, v in x.items():
            yield from _leaves(v, path + (str(k),))
    elif isinstance(x, list) and any(isinstance(v, (dict, list)) for v in x):
        for i, v in enumerate(x):
            yield from _leaves(v, path + (str(i),))
    else:
        yield path, x


def _same(a, b, tol: float) -> bool:
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool) and not isinstance(b, bool):
        return a == b or abs(a - b) <= tol
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return all(_same(x, y, tol) for x, y in zip(a, b))
    return a == b


def compare(old, new, parts: list[str], ignore: list[str], tol: float = 0.0) -> dict:
    if parts:
        old = {p: old.get(p) for p in parts}
        new = {p: new.get(p) for p in parts}
    a, b = dict(_leaves(old)), dict(_leaves(new))
    out = {"equal": 0, "ignored": 0, "different": [], "only_old": [], "only_new": []}
    for key in sorted(set(a) | set(b), key=lambda k: (list(a).index(k) if k in a else len(a), k)):
        name = ".".join(key)
        if any(fnmatch.fnmatch(part, pat) for part in key for pat in ignore):
            out["ignored"] += 1
        elif key not in b:
            out["only_old"].append(name)
        elif key not in a:
            out["only_new"].append(name)
        elif _same(a[key], b[key], tol):
            out["equal"] += 1
        else:
            out["different"].append({"figure": name, "old": a[key], "new": b[key]})
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("old", help="committed result: a path or REV:PATH")
    ap.add_argument("new", help="the rerun's result file")
    ap.add_argument("--part", action="append", default=[], help="top-level key to compare (repeatable; default all)")
    ap.add_argument("--ignore", action="append", default=[], help="key pattern to leave out (fnmatch; repeatable)")
    ap.add_argument("--tolerance", type=float, default=0.0)
    ap.add_argument("--note", default="", help="what was rerun and how (stored with the comparison)")
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    (old, old_name), (new, new_name) = _load(args.old), _load(args.new)
    result = compare(old, new, args.part, args.ignore, args.tolerance)
    report = {"command": "python benchmarks/compare_results.py " + " ".join(sys.argv[1:]),
              "old": old_name, "new": new_name, "parts": args.part or "all", "ignored_keys": args.ignore,
              "tolerance": args.tolerance, "note": args.note,
              "summary": {"equal": result["equal"], "different": len(result["different"]),
                          "only_old": len(result["only_old"]), "only_new": len(result["only_new"]),
                          "ignored": result["ignored"]}} | result
    args.out.write_text(json.dumps(report, indent=1, default=float) + "\n")
    print(json.dumps(report["summary"]))
    for d in result["different"][:40]:
        print(f"  {d['figure']}: {d['old']} -> {d['new']}")


if __name__ == "__main__":
    main()
