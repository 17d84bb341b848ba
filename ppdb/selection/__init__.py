"""Selection: the pure placement engine, the rule compiler and selection runs."""
