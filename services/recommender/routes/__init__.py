"""One router per resource: users (their rows of films) and models (the summary)."""
