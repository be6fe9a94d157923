"""Benchmark: the complaint reader's start-up in a new process, beside bare jieba's.

Run: .venv/bin/python bench/reader_startup.py [--runs N] [--province]

Each start is a fresh Python process, as the bot meets it: the imports, then
`ComplaintReader.create` (jieba's dictionary with the postal terms and the organisation's
names, then the model: loaded from the cache, or trained). The reference, in the same run:
`import jieba; jieba.initialize()` with jieba's own cache warm, the least any jieba user
pays. Wall time and the process's CPU time (on a shared machine the wall time mostly says
how busy the other processes are), median of N starts (default 5), for each phase.
--province gives the reader the generated province's ~4,600 place names instead of none.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

_CLOCKS = """
import json, sys, time
marks = [(time.perf_counter(), time.process_time())]
def mark():
    marks.append((time.perf_counter(), time.process_time()))
def report(*phases):
    print(json.dumps({phase: [b[0] - a[0], b[1] - a[1]]
                      for phase, a, b in zip(phases, marks, marks[1:])}))
"""
_REFERENCE = (
    _CLOCKS
    + """
import jieba
mark()
jieba.dt.tmp_dir = sys.argv[1]
jieba.initialize()
mark()
report("imports", "dictionary")
"""
)
_OURS = (
    _CLOCKS
    + """
from pathlib import Path
from nlp.entities import OrgNames, Place
from nlp.reader import ComplaintReader
mark()
listed = Path(sys.argv[3]).read_text(encoding="utf-8").split()
names = OrgNames(sites=tuple(Place(n, name) for n, name in enumerate(listed)))
ComplaintReader.create(names, cache_dir=Path(sys.argv[1]), model_cache=sys.argv[2] == "cache")
mark()
report("imports", "reader")
"""
)


def province_names() -> list[str]:
    sys.path.insert(0, str(REPO))
    from db.province import generate_province

    kinds = ("unit", "segment", "transfer_point")
    return sorted({r.values["name"] for r in generate_province() if r.values.get("type") in kinds})


def start(script: str, *args: str) -> dict[str, tuple[float, float]]:
    done = subprocess.run(
        [sys.executable, "-c", script, *args], cwd=REPO, capture_output=True, text=True, check=True
    )
    phases: dict[str, tuple[float, float]] = json.loads(done.stdout.splitlines()[-1])
    return phases


def show(label: str, starts: list[dict[str, tuple[float, float]]]) -> None:
    parts = []
    for phase in starts[0]:
        wall = statistics.median(s[phase][0] for s in starts)
        cpu = statistics.median(s[phase][1] for s in starts)
        parts.append(f"{phase} {wall:.2f} s (CPU {cpu:.2f})")
    wall = statistics.median(sum(w for w, _ in s.values()) for s in starts)
    cpu = statistics.median(sum(c for _, c in s.values()) for s in starts)
    print(f"  {label}: {wall:.2f} s (CPU {cpu:.2f} s) = " + " + ".join(parts))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--province", action="store_true")
    args = parser.parse_args()
    listed = province_names() if args.province else []
    with tempfile.TemporaryDirectory() as cache_dir:
        names = str(Path(cache_dir) / "names.txt")
        Path(names).write_text("\n".join(listed), encoding="utf-8")
        # Every cache written first: jieba's own, our dictionary and the model.
        start(_REFERENCE, cache_dir)
        start(_OURS, cache_dir, "cache", names)
        reference, cached, trained = [], [], []
        for _ in range(args.runs):
            reference.append(start(_REFERENCE, cache_dir))
            cached.append(start(_OURS, cache_dir, "cache", names))
        for _ in range(max(1, args.runs // 2)):
            trained.append(start(_OURS, cache_dir, "train", names))
    named = f"{len(listed)} place names"
    print(f"start-up in a new process, median of {args.runs} (training: {len(trained)}):")
    show("reference: import jieba; jieba.initialize() (its cache warm)", reference)
    show(f"our reader, the model from the cache, {named}", cached)
    show(f"our reader, training, {named}", trained)


if __name__ == "__main__":
    main()
