"""Data files of kmsdet.rules (a package so that wheels carry them)."""
