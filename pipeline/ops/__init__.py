"""Operations around an audit run: one run at a time (lock), what changed since the last run (manifest),
bounded disk (cache eviction, staging and log pruning) and machine-readable run logs. Used by
`pipeline/nightly.py`; none of it knows about rules or video."""
