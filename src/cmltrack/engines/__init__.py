"""Engines that run the per-patient pipeline somewhere other than this process.

- :mod:`cmltrack.engines.spark`: Apache Spark (``cmltrack[spark]``), from ``local[*]`` to a
  cluster or Spark Connect. The executors call the same domain functions as the CLI.

Nothing here is imported by ``import cmltrack``; PySpark itself is imported only when a Spark
session is started, so the package works without it.
"""
