"""Serving: in-memory histories, filters and deployed models behind the runtime routes."""
