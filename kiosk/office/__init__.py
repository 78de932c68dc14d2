"""The community office's side: the master registry, the gates' events, staff and gate credentials."""
