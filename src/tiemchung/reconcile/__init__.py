"""Reconciliation: link every dose record to the population register, say which fields are
wrong, find double entries, and decide what can be fixed automatically (``tiemchung
reconcile``).

>>> from tiemchung.reconcile import Options, reconcile  # doctest: +SKIP
>>> reconcile(Options(records, register, out))          # doctest: +SKIP

Stages (:mod:`.run`): load -> standardise -> collapse -> exact pass -> train (EM) ->
predict -> classify -> records (conflicts, duplicates) -> write. The SQL of every stage is
built by pure functions (:mod:`.steps`, :mod:`.decide`) and run by an engine adapter
(:mod:`.engines`: DuckDB, Spark). See docs/reconcile.md.
"""

from . import run
from .errors import ModelError, ReconcileInputError
from .run import Options, reconcile
from .score import score

__all__ = ["ModelError", "Options", "ReconcileInputError", "reconcile", "run", "score"]
