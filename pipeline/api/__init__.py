"""The HTTP API (FastAPI) served by `escucha serve`; the dashboard is its client."""
