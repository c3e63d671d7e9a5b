"""Fifty concurrent clients get the same answers as one client alone."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor, as_completed

import requests

from audit.sim.server import SimServer

from .helpers import Client

USERS = ("clerk", "manager", "readonly", "memo", "restricted", "auditor", "website")
CHECKS = (
    ("/api/resource/Vendor", {}),
    ("/api/resource/Memo", {}),
    ("/api/resource/Vendor/Globex%20Ltd", {}),
    ("/api/method/frappe.client.has_permission",
     {"doctype": "Payment Voucher", "docname": "mqi73o540p", "perm_type": "submit"}),
    ("/api/method/frappe.auth.get_logged_user", {}),
)


def answer(client: Client, session: requests.Session, user: str, path: str,
           params: dict[str, str]) -> tuple[int, object]:
    reply = client.get(path, user, session=session, params=params)
    body = reply.json()
    return reply.status_code, body.get("data", body.get("message"))


def test_fifty_concurrent_clients(sim: SimServer) -> None:
    client = Client(sim)
    with requests.Session() as alone:
        expected = {(u, p): answer(client, alone, u, p, q) for u in USERS for p, q in CHECKS}
    sim.controls.latency_s = 0.01

    def worker(i: int) -> list[tuple[tuple[str, str], tuple[int, object]]]:
        user = USERS[i % len(USERS)]
        out = []
        with requests.Session() as session:
            for _round in range(3):
                for path, params in CHECKS:
                    out.append(((user, path), answer(client, session, user, path, params)))
        return out

    with ThreadPoolExecutor(max_workers=50) as pool:
        futures = [pool.submit(worker, i) for i in range(50)]
        results = [item for f in as_completed(futures) for item in f.result()]
    assert len(results) == 50 * 3 * len(CHECKS)
    for key, got in results:
        assert got == expected[key], key
    assert len(sim.controls.requests) == len(expected) + len(results)
    assert sim.journal == []
