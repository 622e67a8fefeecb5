"""Presentation of engine data: decision JSON and explanations, version views, case files, YAML."""
