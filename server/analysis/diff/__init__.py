"""What changed between two versions: the change model, structural matching, semver, the document."""
