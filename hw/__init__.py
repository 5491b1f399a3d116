"""attnforge hardware: Amaranth components. Numbers and formats come from ``golden``."""
