"""Load benchmarks of the node's verified ACK path and of a discover round trip.

Run ``.venv/bin/python bench/run.py``; ``bench/README.md`` explains the parts and
``bench/RESULTS.md`` records the numbers. Nothing here is imported by ``iesnode``.
"""
