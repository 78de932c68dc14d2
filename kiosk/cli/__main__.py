"""``python -m kiosk.cli`` runs the ``kiosk`` command."""

from kiosk.cli import main

# Guarded: a process started with multiprocessing's ``spawn`` (the office's checking processes,
# web/office/batch_check.py) imports this module again, and must not run the command a second time
if __name__ == "__main__":
    main()
