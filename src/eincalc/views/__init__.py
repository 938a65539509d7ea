"""Pictures: the gate-level graph and Jacobian plots."""
