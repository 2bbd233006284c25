"""Statistics from the platform: coverage, doses per day, recorded vs reported, data quality,
the worklist backlog.

The registry is the store of record; the dashboard reads a *snapshot*: the store's rows exported
to Parquet and reduced by DuckDB into small aggregate tables in one DuckDB file under the data
dir (:mod:`tiemchung.stats.snapshot`, :mod:`tiemchung.stats.build`). Queries
(:mod:`tiemchung.stats.queries`) read only the aggregates, so they answer in milliseconds over
tens of millions of doses; the snapshot says when it was taken, and the page shows it. See
docs/stats.md for the definitions and the measured figures.
"""
