"""Bundled data of the connectors: the sandbox corpus and the script that writes it."""
