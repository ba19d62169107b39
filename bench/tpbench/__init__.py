"""tpbench - the modules behind scripts/bench: measure (one run), suite (the cases), micro (the pair alone), report (tables, JSON, chart)."""
