"""Readers for every source family, header mapping and encoding detection."""
