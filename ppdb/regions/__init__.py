"""Regions, admission periods and their rules (presets, quotas, schedule)."""
