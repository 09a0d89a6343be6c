"""`router report`: KPI reports from the call and agent records
(router/records/model.py), aggregated in SQL on SQLite or PostgreSQL.

- source.py: the records tables (from the row contract) and a read-only engine;
- buckets.py: --by buckets in local time (SQL groups, week/month roll-ups);
- queries.py: one GROUP BY per table and view, additive parts;
- figures.py: parts merged and derived (`report_figures`, the API);
- render.py / html.py: table, CSV, JSON; the self-contained HTML page;
- cli.py: the subcommand's flags and messages.

Definitions: docs/REPORTS.md.
"""
