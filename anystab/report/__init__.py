"""Renderers of analysis results (terminal; more to come)."""
