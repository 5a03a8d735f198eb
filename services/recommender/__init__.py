"""The recommender service: one call per page row, campaign results enriched from the catalog."""
