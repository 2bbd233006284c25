"""Texts to people (issue 18): the outbox every capability writes to, and its sender."""
