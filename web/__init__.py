"""Flask apps: the gate's touchscreen UI and local API, and the office's sync API."""
