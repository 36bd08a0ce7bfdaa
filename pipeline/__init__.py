"""trainaudit: audit safety-training class archives."""
__version__ = "0.1.0"
