"""Catalog reads: visibility-gated querysets and the heavier queries (search, facets, lineage)."""
