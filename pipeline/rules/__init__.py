"""Rules: one small function per rule_id of RULES.md (see registry.py), run by engine.py."""
