"""HTTP routers of the signing service."""
