"""tiemchung: a national vaccination data platform rooted in the population register."""

__version__ = "0.1.0"
