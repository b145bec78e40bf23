"""The JSON API for sites that build their own contact form (per widget)."""
