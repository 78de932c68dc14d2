"""``python -m kiosk.cli`` runs the ``kiosk`` command."""

from kiosk.cli import main

main()
