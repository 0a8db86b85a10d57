"""Stand-ins the tests and benchmarks use in place of the product's parts.

- :mod:`standins.fabricate`: a batch source with the generator's contract over a
  schema chosen exactly (materializer tests, load-path benchmarks);
- :mod:`standins.memory_walk`: the per-sequence reference walk over tables read
  whole (the oracle the SQL sampler is tested against);
- :mod:`standins.numpy_walk`: the same walk vectorized in numpy (a second oracle
  and the in-memory throughput anchor of benchmarks/bench_loader.py).

They live here, not in the installed package: users never need them. Benchmarks
import them with ``tests/`` on ``sys.path``.
"""
