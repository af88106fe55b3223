"""Pages of the documents service (server-rendered, Vietnamese)."""
