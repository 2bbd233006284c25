"""The `tiemchung` command: one module per command group; `main` assembles them."""
