"""The process around the router: the composition root (compose.py),
signals, pid file and drain timing (ops.py), GC tuning (heap.py), logging."""
