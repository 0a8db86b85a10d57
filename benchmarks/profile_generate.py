"""Where the generator's time goes: wall time per stage of the SCM, summed over seeds.

    python benchmarks/profile_generate.py --seeds 0,1,4,7,9

Wraps the generator's stage functions with timers (in this process) and prints
each one's share of the total. Nested entries (``plan: ...`` inside ``plan``,
``compute: ...`` inside ``compute``) include their Python call overhead; what a
parent has beyond its children is its own Python work, node noise, sources and
aggregation finishing. "lookups + fold" counts every row lookup, including those an
edge encoder makes (categorical encoders, distinct-value encodings), which are also
inside "edge encoders + fold": those two overlap.
"""

from __future__ import annotations

import argparse
import collections
import time
from collections.abc import Callable

import plurel_sql.generator.mlp as mlp
import plurel_sql.generator.scm as scm
import plurel_sql.generator.stream as stream
from plurel_sql.config import Config

TIMES: collections.Counter[str] = collections.Counter()


def timed(owner: object, name: str, label: str) -> None:
    """Replace ``owner.name`` by a wrapper adding its wall time to TIMES[label]."""
    original: Callable = getattr(owner, name)

    def wrapper(*args, **kwargs):
        start = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            TIMES[label] += time.perf_counter() - start

    setattr(owner, name, wrapper)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0,1,4,7,9", help="comma-separated seeds")
    args = parser.parse_args()
    timed(stream, "plan_scm", "plan (stage 3 set-up per table)")
    timed(scm, "sample_encoders", "plan: edge encoders (weight banks)")
    timed(scm, "sample_decoders", "plan: node decoders")
    timed(scm, "_parent_contribution", "plan: parent-row encodings")
    timed(scm, "beta_noise_table", "plan: Beta noise tables")
    timed(scm.TableSCM, "compute_block", "compute (rows through the SCM)")
    timed(scm.Accumulator, "add_encoded", "compute: edge encoders + fold")
    timed(scm.Accumulator, "add_rows", "compute: lookups + fold")
    timed(mlp.NumericDecoder, "__call__", "compute: numeric decoders")
    timed(mlp.CategoricalDecoder, "__call__", "compute: categorical decoders")
    for seed in (int(s) for s in args.seeds.split(",")):
        start = time.perf_counter()
        for _ in stream.DatabaseGenerator(Config(), seed).batches():
            pass
        TIMES["total"] += time.perf_counter() - start
    total = TIMES["total"]
    for label, seconds in sorted(TIMES.items(), key=lambda kv: -kv[1]):
        print(f"{label:40s} {seconds:7.2f} s {100 * seconds / total:5.1f} %")


if __name__ == "__main__":
    main()
