"""The catalog service: MovieLens users, movies and reviews, loaded once and served read-only."""
