"""Streamlit dashboard: a client of the escucha service API."""
