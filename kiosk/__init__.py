"""The gate kiosk's domain: configuration, entry cards, registry replica, decision policy and journal.

Nothing here imports hardware drivers or Flask at module level, so the domain
runs (and is tested) on any Linux PC.
"""

__version__ = "0.1.0"
