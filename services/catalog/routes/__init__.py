"""One router per catalog resource."""
