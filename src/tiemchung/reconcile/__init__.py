"""tiemchung.reconcile."""
