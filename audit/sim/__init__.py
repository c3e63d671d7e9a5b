"""A Frappe 15 compatible site simulated in memory (WSGI, loopback only).

``audit.sim.server.SimServer`` serves a fixture (``demo`` or ``reference``) over HTTP; the
replies follow the recorded Frappe 15.55.1 transcripts in ``tests/transcripts``.
"""

from __future__ import annotations
