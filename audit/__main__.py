"""``python -m audit`` runs the command line."""

from __future__ import annotations

from audit.cli import main

if __name__ == "__main__":
    main()
