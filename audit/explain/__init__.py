"""The 401 / 403 / 429 cause catalogue, offline and live explain."""
