"""Node kinds and builders beyond the core, each with its rules: linalg, nn, losses, powers."""
