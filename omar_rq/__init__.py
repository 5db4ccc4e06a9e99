"""OMAR-RQ models."""
