"""Benchmarks for `make bench`: they print figures and never assert timings.

Run with ``python -m tests.bench`` (see ``__main__.py``). The measuring code lives in ``bench_*.py``
(and ``rss_child.py``, the bot process the RSS section starts) so pytest does not collect it;
``test_bench_smoke.py`` runs every benchmark at a tiny size to prove the code still works
(correctness only, never speed).
"""
