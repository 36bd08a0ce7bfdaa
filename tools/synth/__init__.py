"""Seeded generator of class archives with known truth (issue 9): see `generate.py` for the command."""
from tools.synth.generate import build_suite, generate, load_identities, write_class

__all__ = ["build_suite", "generate", "load_identities", "write_class"]
