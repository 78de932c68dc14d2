"""What only a gate runs: the passage worker, its facts and policy, the journal, shifts, the sync client, the process.

The office's side lives in ``kiosk/office/``; what both read (cards, keys,
registry replica, events, config, provisioning) sits at ``kiosk/``'s top.
"""
