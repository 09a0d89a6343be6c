"""Support code the tests share (tests/ is on sys.path, see conftest.py):
waiting in real time, free ports, the simulated contact centre, a real
mosquitto broker, a scripted AMI server, table builders, and where the
recorded fixtures are."""
