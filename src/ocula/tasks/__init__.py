"""Tasks: one module per task, one entry function named after it."""
