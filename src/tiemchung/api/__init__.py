"""tiemchung.api."""
