"""The running router: the engine driven on its PBX sessions (daemon.py,
drive.py, clock.py), reload, and the subscribers to its facts (the tally,
the agent state file)."""
