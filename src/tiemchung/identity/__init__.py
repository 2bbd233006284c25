"""Vietnamese identity toolkit: pure functions, no I/O, imports nothing else of the project."""
