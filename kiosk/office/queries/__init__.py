"""The office desk's read queries (alarms, gates, today, ledger, contact trace, people): SQL lives here, never in views."""
