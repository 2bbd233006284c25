"""tiemchung.certificates."""
