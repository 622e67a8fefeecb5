"""Analysis of policy versions: structural and semantic diff (z3), semver, lint, renderers."""
