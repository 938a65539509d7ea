"""The core: frozen nodes, index names, the function table, limits, errors; imports nothing above it."""
