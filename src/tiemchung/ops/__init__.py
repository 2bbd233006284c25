"""Operating an installation: backing up and restoring the database and its keys together.

A capability of its own (layer 4, beside ``certificates/``): it reads the store's engine and
migrations but no service's rules, and the ``pg_dump``/``pg_restore`` programs it runs stay
behind one small adapter (:mod:`tiemchung.ops.pgtools`)."""
