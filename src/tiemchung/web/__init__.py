"""tiemchung.web."""
