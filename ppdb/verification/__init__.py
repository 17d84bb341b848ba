"""Verification by schools and the agency: documents, home coordinates, fraud flags, disqualification."""
