"""Read models across domains: figures the agency reads about a whole period."""
