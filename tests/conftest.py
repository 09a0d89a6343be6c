import os
import sys

# Core tests build tables with tests/tables.py.
sys.path.insert(0, os.path.dirname(__file__))
