"""The Personalize wire protocols: routing, AWS error shapes and input validation."""
