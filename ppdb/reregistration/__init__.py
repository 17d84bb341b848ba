"""Daftar ulang: confirming or declining a published placement, and releasing unclaimed seats."""
