"""Use cases of the congress service, as plain functions (one file per group of use cases)."""
