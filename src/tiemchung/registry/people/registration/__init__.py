"""Registration (issue 18 points 1–3): priority groups, organisations, their lists.

A subpackage of ``registry/people`` rather than modules beside ``persons.py``: a list is
checked with the desk's verification (``registry/doses/verify.py``), which itself reads
``registry/people/persons.py``; from here the import goes one way only (``people`` never
imports ``people.registration``), so the two packages are not in a cycle.
"""
