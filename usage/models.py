"""Usage: CloudTrail audit events and daily rollups (built by the usage capability)."""
