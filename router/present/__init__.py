"""What people see and type: the command line (`router ...`), the run
modes of `router run`, the console lines."""
