"""The model registry: registered Personalize campaigns and their admin pages."""
