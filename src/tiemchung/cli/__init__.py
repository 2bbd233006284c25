"""The `tiemchung` command: one module per command group; `main` assembles them.

A command parses its options, calls a service (the same functions the API and the web pages
call), and prints. Commands import their services inside the function body: `tiemchung --help`
then starts in 0.8 s instead of 2.8 s (DuckDB, reportlab, the reconciler); none of these
imports dodges a cycle.
"""
