"""PPDB: online school admission for Indonesian education agencies."""
