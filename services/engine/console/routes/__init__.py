"""The console's routers: sign-in, pages (and live status), actions."""
