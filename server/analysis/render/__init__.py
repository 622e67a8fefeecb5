"""Renderers of a version diff: text, Markdown, JSON and one self-contained HTML page."""
