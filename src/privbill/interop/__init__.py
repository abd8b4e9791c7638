"""Data in and out: readings CSV, synthetic load profiles, and (later) importers."""
