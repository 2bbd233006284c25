"""tiemchung.stats."""
