"""Pictures: Jacobian plots (the gate-level graph is a step of an explanation: `eincalc.explain.graph`)."""
