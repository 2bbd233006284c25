"""tiemchung.synth."""
