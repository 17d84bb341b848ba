"""Schools, their capacity in a period, and zones."""
