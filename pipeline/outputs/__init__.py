"""Persisted tables (schemas, atomic Parquet publishing) and the inspector report."""
