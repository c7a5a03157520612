"""Apps: the command-line interface and the uses of the results (recommendation)."""
