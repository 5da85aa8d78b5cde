"""Business rules as plain functions: explicit actor, ids and ``now``; the caller commits."""
