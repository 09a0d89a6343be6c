"""Call and agent records: every call and agent state on record, in SQLite or
PostgreSQL, for the reports a contact centre is run on (`router report`).

model.py is the contract (the rows); the subscriber builds rows from the
core's published facts, the writer stores them without ever blocking routing.
"""
