"""A second, independent error generator for evaluating ``tiemchung reconcile`` (issue 16).

``tiemchung synth`` made the data the reconciliation model was tuned on; scoring the model on
it measures how well the model learnt that generator. This package shares no error-injection
code and no name or frequency table with ``tiemchung.synth``: its own names
(:mod:`~bench.gen2.tables`), its own households (:mod:`~bench.gen2.population`) and its own
error processes (:mod:`~bench.gen2.slips`, :mod:`~bench.gen2.values`) with their rates and
labels (:mod:`~bench.gen2.rates`). From ``tiemchung.identity`` it takes only facts — the
administrative units, the CCCD's structure — and the normalisation used to check that a WRONG
value really differs. :mod:`~bench.gen2.febrl` maps the public FEBRL sets to the same files.

    .venv/bin/python bench/secondgen.py --people 5000 --seed 7 --out OUT
"""

from .generate import generate

__all__ = ["generate"]
