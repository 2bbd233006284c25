"""Errors of the reconciliation engine."""

from __future__ import annotations


class ReconcileInputError(Exception):
    """An input cannot be used at all: the message names the file, the column and what was
    expected. Raised before any work starts, so a bad run costs nothing."""


class ModelError(Exception):
    """A ``model.json`` that cannot be used with these inputs (unknown version, a comparison
    whose columns the inputs lack)."""


class SparkSetupError(Exception):
    """The Spark engine cannot run as asked: a ``--spark-conf`` that is not ``key=value``, a
    Spark Connect URL without its client libraries, executors whose Python lacks what the
    run needs, a path the engine cannot read. The message says what to do."""
