"""Renderers: data in, files or text out; no HTTP."""
