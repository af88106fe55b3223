"""HTTP routers of the documents service (thin: parse, call a use case, answer)."""
