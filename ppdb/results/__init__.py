"""Published results: immutable snapshots with a SHA-256 digest, public lookups and masked lists."""
