"""One module per downstream: the catalog, the registry and Amazon Personalize."""
