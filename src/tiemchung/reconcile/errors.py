"""Errors of the reconciliation engine."""

from __future__ import annotations


class ReconcileInputError(Exception):
    """An input cannot be used at all: the message names the file, the column and what was
    expected. Raised before any work starts, so a bad run costs nothing."""


class ModelError(Exception):
    """A ``model.json`` that cannot be used with these inputs (unknown version, a comparison
    whose columns the inputs lack)."""
