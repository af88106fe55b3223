"""HTTP routers of the congress service (thin: parse, call a handler, answer)."""
