"""Adverse events following immunisation (AEFI, issue 17 point 5): reports against a dose
(:mod:`.reports`), their lists and counts and the flag of a lot with a cluster of serious
events (:mod:`.signals`)."""
