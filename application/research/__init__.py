"""Research tools: walk-forward analysis, objectives for parameter search, and the ports they use."""
