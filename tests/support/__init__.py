"""Shared test helpers: free ports, readiness waits, real server processes."""
