"""tiemchung.registry."""
