"""Protocol objects and their one canonical encoding."""
