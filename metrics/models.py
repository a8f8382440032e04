"""metrics keeps no models of its own: it reads the rollups the engagement pipeline writes
(sends.models.MetricRollup, in the table this app created: see migration 0003)."""
