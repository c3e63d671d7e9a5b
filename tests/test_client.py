from __future__ import annotations

import json
import logging
import socket
import ssl
import threading
import time
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from email.utils import formatdate
from pathlib import Path

import pytest
import requests
from helpers_http import (
    RESET,
    SILENT,
    free_port,
    http_bytes,
    json_response,
    raw_server,
    recording_server,
)
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from audit.auth.identities import LoginBudget, make_identity
from audit.config.loader import SiteConfig, UserConfig
from audit.config.secrets import Secret
from audit.http.client import (
    ClientOptions,
    FrappeClient,
    FrappeReply,
    InsecureURLError,
    NotSent,
    RateLimiter,
    RedirectError,
    TransportError,
    encode_path,
    resource_path,
    retry_after_seconds,
)
from audit.http.reply import plain_text
from audit.model import AuthMethod

KEY, SECRET = "clientkey-8d1f", "clientsecret-44ab90"
FAST = ClientOptions(connect_timeout=2, read_timeout=2, retries=3, backoff=0.01)


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY",
                 "ALL_PROXY", "no_proxy", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)


def token_user(name: str = "clerk") -> UserConfig:
    return UserConfig(name=name, auth=AuthMethod.TOKEN, api_key=Secret(KEY),
                      api_secret=Secret(SECRET))


def client_for(url: str, options: ClientOptions = FAST,
               limiter: RateLimiter | None = None) -> FrappeClient:
    return FrappeClient(url, options, make_identity(token_user(), LoginBudget()), limiter)


def ok_handler(request: Request) -> Response:
    return json_response({"message": "pong"})


# -- what every request carries ----------------------------------------------------------
def test_headers_accept_user_agent_host_and_token() -> None:
    with recording_server(ok_handler) as (url, rec):
        options = ClientOptions(host_header="audit.localhost", retries=0)
        with client_for(url, options) as client:
            reply = client.get("/api/method/ping")
    assert reply.ok and reply.message == "pong" and reply.status == 200
    seen = rec.seen[0]
    assert seen.headers["Accept"] == "application/json"
    assert seen.headers["User-Agent"].startswith("permaudit/")
    assert seen.headers["Host"] == "audit.localhost"
    assert seen.headers["Authorization"] == f"token {KEY}:{SECRET}"
    assert "Cookie" not in seen.headers


def test_cookies_from_replies_are_never_sent_back() -> None:
    def handler(request: Request) -> Response:
        r = json_response({"message": "x"})
        r.set_cookie("sid", "Guest")
        r.set_cookie("system_user", "no")
        return r

    with recording_server(handler) as (url, rec), client_for(url) as client:
        first = client.get("/a")
        client.get("/b")
    assert first.cookies.get("sid") == "Guest"
    assert all("Cookie" not in s.headers for s in rec.seen)


def test_netrc_credentials_are_ignored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login someone password netrcpass\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    user = UserConfig(name="p", auth=AuthMethod.PASSWORD, username="p@example.com",
                      password=Secret("pw-never-sent"))
    with recording_server(ok_handler) as (url, rec):
        client = FrappeClient(url, FAST, make_identity(user, LoginBudget()))
        client.get("/api/method/ping")
        client.close()
    assert "Authorization" not in rec.seen[0].headers


@pytest.mark.parametrize(("doctype", "name", "wire"), [
    ("Sales Invoice", "SINV/2024/001", "/api/resource/Sales%20Invoice/SINV%2F2024%2F001"),
    ("ToDo", None, "/api/resource/ToDo"),
    ("Vendor", "Acme & Co? #1", "/api/resource/Vendor/Acme%20%26%20Co%3F%20%231"),
    ("Vendor", "Müller", "/api/resource/Vendor/M%C3%BCller"),
])
def test_path_segments_are_encoded(doctype: str, name: str | None, wire: str) -> None:
    assert resource_path(doctype, name) == wire
    with recording_server(ok_handler) as (url, rec), client_for(url) as client:
        client.get(resource_path(doctype, name))
        client.get(["api", "resource", doctype, *([name] if name else [])])
    assert [s.path for s in rec.seen] == [wire, wire]


def test_string_paths_keep_percent_and_encode_spaces() -> None:
    assert encode_path("api", "method", "frappe.auth.get_logged_user") == \
        "/api/method/frappe.auth.get_logged_user"
    with recording_server(ok_handler) as (url, rec), client_for(url) as client:
        client.get("/api/resource/Sales Invoice")
        client.get("api/resource/Sales%20Invoice")
    assert [s.path for s in rec.seen] == ["/api/resource/Sales%20Invoice"] * 2


def test_call_encodes_get_params_and_posts_json() -> None:
    with recording_server(ok_handler) as (url, rec), client_for(url) as client:
        client.call("frappe.client.get_list", doctype="ToDo", fields=["name"], limit=0)
        client.call("frappe.client.has_permission", http_method="POST", doctype="ToDo",
                    docname="x", perm_type="write")
    get, post = rec.seen
    assert get.method == "GET" and get.path == "/api/method/frappe.client.get_list"
    assert post.method == "POST" and json.loads(post.body) == {
        "doctype": "ToDo", "docname": "x", "perm_type": "write"}
    assert post.headers["Content-Type"] == "application/json"


def test_call_get_query_values() -> None:
    captured: list[dict[str, str]] = []

    def handler(request: Request) -> Response:
        captured.append(dict(request.args))
        return json_response({"message": []})

    with recording_server(handler) as (url, _), client_for(url) as client:
        client.call("frappe.client.get_list", doctype="ToDo", fields=["name"], limit=0)
    assert captured == [{"doctype": "ToDo", "fields": '["name"]', "limit": "0"}]


# -- retries -----------------------------------------------------------------------------
def flaky(status: int, failures: int, headers: dict[str, str] | None = None):
    count = {"n": 0}
    lock = threading.Lock()

    def handler(request: Request) -> Response:
        with lock:
            count["n"] += 1
            n = count["n"]
        if n <= failures:
            return json_response({"exc_type": "X"}, status=status, headers=headers)
        return json_response({"message": "done"})

    return handler


@pytest.mark.parametrize("status", [502, 503, 504])
def test_get_is_retried_on_gateway_errors(status: int) -> None:
    with recording_server(flaky(status, 2)) as (url, rec), client_for(url) as client:
        reply = client.get("/api/method/x")
    assert reply.status == 200 and rec.count() == 3


def test_post_is_not_retried_on_503() -> None:
    with recording_server(flaky(503, 1)) as (url, rec), client_for(url) as client:
        reply = client.post("/api/resource/ToDo", json={"a": 1})
    assert reply.status == 503 and rec.count() == 1


def test_500_is_an_answer_not_retried() -> None:
    with recording_server(flaky(500, 5)) as (url, rec), client_for(url) as client:
        reply = client.get("/api/method/x")
    assert reply.status == 500 and rec.count() == 1 and reply.exc_type == "X"


def test_retries_are_bounded_and_the_last_reply_returned() -> None:
    with recording_server(flaky(503, 99)) as (url, rec), client_for(url) as client:
        reply = client.get("/api/method/x")
    assert reply.status == 503 and rec.count() == 1 + FAST.retries


def test_backoff_grows() -> None:
    options = ClientOptions(retries=3, backoff=0.05, read_timeout=2)
    with recording_server(flaky(503, 3)) as (url, rec), client_for(url, options) as client:
        client.get("/x")
    gaps = [b.at - a.at for a, b in zip(rec.seen, rec.seen[1:], strict=False)]
    assert gaps[0] >= 0.045 and gaps[1] >= 0.095 and gaps[2] >= 0.195


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "DELETE"])
def test_429_retry_after_is_honoured_for_every_method(method: str) -> None:
    handler = flaky(429, 1, headers={"Retry-After": "1"})
    with recording_server(handler) as (url, rec), client_for(url) as client:
        started = time.monotonic()
        reply = client.request(method, "/api/resource/ToDo")
        elapsed = time.monotonic() - started
    assert reply.status == 200 and rec.count() == 2
    assert elapsed >= 0.95
    assert rec.seen[1].at - rec.seen[0].at >= 0.95


def test_429_http_date_and_cap() -> None:
    far = formatdate(time.time() + 3600, usegmt=True)
    options = ClientOptions(retries=2, backoff=0.01, max_retry_after=0.3)
    handler = flaky(429, 1, headers={"Retry-After": far})
    with recording_server(handler) as (url, _rec), client_for(url, options) as client:
        started = time.monotonic()
        reply = client.get("/x")
        elapsed = time.monotonic() - started
    assert reply.status == 200 and 0.25 <= elapsed < 2.0


def test_429_attempts_are_bounded() -> None:
    options = ClientOptions(retries=2, backoff=0.01)
    with recording_server(flaky(429, 99)) as (url, rec), client_for(url, options) as client:
        reply = client.post("/x")
    assert reply.status == 429 and rec.count() == 3


def test_429_pauses_every_thread_through_the_limiter() -> None:
    limiter = RateLimiter(1000, 8)
    handler = flaky(429, 1, headers={"Retry-After": "1"})
    with recording_server(handler) as (url, rec):
        client = client_for(url, limiter=limiter)
        client.get("/first")  # 429, pauses everyone for 1 s, then 200
        assert rec.count() == 2
        other = client_for(url, limiter=limiter)
        limiter.pause_for(0.5)
        started = time.monotonic()
        other.get("/second")
        assert time.monotonic() - started >= 0.45
        client.close()
        other.close()


def test_retry_after_parsing() -> None:
    now = 1_700_000_000.0
    assert retry_after_seconds("22") == 22
    assert retry_after_seconds(" 1.5 ") == 1.5
    assert retry_after_seconds("-3") == 0
    assert retry_after_seconds(None) is None
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds(formatdate(now + 30, usegmt=True), now=now) == pytest.approx(30)
    assert retry_after_seconds(formatdate(now - 30, usegmt=True), now=now) == 0


# -- redirects, timeouts, broken replies --------------------------------------------------
@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_redirect_is_refused(status: int) -> None:
    def handler(request: Request) -> Response:
        return Response("", status=status, headers={"Location": "https://erp.example.com/x"})

    with recording_server(handler) as (url, rec), client_for(url) as client, \
            pytest.raises(RedirectError) as info:
        client.post("/api/method/login", json={})
    assert info.value.location == "https://erp.example.com/x"
    assert info.value.status == status
    assert isinstance(info.value, TransportError)
    assert rec.count() == 1
    assert "redirect" in str(info.value) and "\n" not in str(info.value)


def test_read_timeout_is_a_transport_error() -> None:
    def handler(request: Request) -> Response:
        time.sleep(1.0)
        return json_response({})

    options = ClientOptions(read_timeout=0.2, retries=1, backoff=0.01)
    with recording_server(handler) as (url, rec), client_for(url, options) as client:
        with pytest.raises(TransportError) as info:
            client.get("/slow")
        assert rec.count() == 2  # GET retried once
        with pytest.raises(TransportError):
            client.post("/slow")
        time.sleep(0.1)
        assert rec.count() == 3  # POST not retried
    assert "no reply within 0.2 s" in str(info.value)
    assert info.value.method == "GET" and info.value.url.endswith("/slow")


def test_truncated_body_is_retried_for_get_then_reported() -> None:
    def answer(request: bytes, n: int) -> bytes:
        return http_bytes("200 OK", b'{"data": [{"name": "Ac', content_length=200)

    with raw_server(answer) as (url, server), client_for(url) as client:
        with pytest.raises(TransportError) as info:
            client.get("/api/resource/Vendor")
        assert server.count == 1 + FAST.retries
        with pytest.raises(TransportError):
            client.post("/api/resource/Vendor", json={})
        assert server.count == 2 + FAST.retries
    assert "cut off" in info.value.reason


def test_truncated_then_good_reply() -> None:
    def answer(request: bytes, n: int) -> bytes:
        if n == 1:
            return http_bytes("200 OK", b'{"data": [', content_length=50)
        return http_bytes("200 OK", b'{"data": []}')

    with raw_server(answer) as (url, _), client_for(url) as client:
        assert client.get("/x").data == []


def test_unparseable_json_is_a_transport_error() -> None:
    def answer(request: bytes, n: int) -> bytes:
        return http_bytes("200 OK", b'{"data": [{"name": "Ac')

    with raw_server(answer) as (url, server), client_for(url) as client, \
            pytest.raises(TransportError) as info:
        client.get("/x")
    assert "could not be parsed" in info.value.reason
    assert server.count == 1 + FAST.retries


def test_html_reply_is_kept_as_text() -> None:
    def answer(request: bytes, n: int) -> bytes:
        return http_bytes("404 NOT FOUND", b"<h1>Not Found</h1><p>x does not exist</p>",
                          content_type="text/html; charset=utf-8")

    with raw_server(answer) as (url, _), client_for(url) as client:
        reply = client.get("/api/resource/Vendor")
    assert reply.status == 404 and reply.body is None and not reply.is_json
    assert "does not exist" in reply.text


def test_connection_reset_get_retried_post_not() -> None:
    with raw_server(lambda request, n: RESET) as (url, server), client_for(url) as client:
        with pytest.raises(TransportError) as info:
            client.get("/x")
        assert server.count == 1 + FAST.retries
        with pytest.raises(TransportError):
            client.post("/x", json={})
        assert server.count == 2 + FAST.retries
    assert "closed before a complete reply" in info.value.reason


def test_silent_server_times_out() -> None:
    options = ClientOptions(read_timeout=0.2, retries=0)
    with raw_server(lambda request, n: SILENT, silence=1.0) as (url, _), \
            client_for(url, options) as client, pytest.raises(TransportError):
        client.get("/x")


def test_connection_refused() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with client_for(url) as client, pytest.raises(TransportError) as info:
        client.post("/x")
    assert "could not connect" in info.value.reason


def test_tls_failure_is_one_sentence() -> None:
    greeting = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"
    with raw_server(lambda request, n: b"", greeting=greeting) as (url, _):
        https = url.replace("http://", "https://")
        with client_for(https) as client, pytest.raises(TransportError) as info:
            client.get("/x")
    assert "TLS" in info.value.reason
    assert "\n" not in str(info.value)


# -- plain http ---------------------------------------------------------------------------
@pytest.mark.parametrize("url", ["http://erp.example.com", "http://10.0.0.5:8000"])
def test_plain_http_to_remote_host_is_refused(url: str) -> None:
    with pytest.raises(InsecureURLError) as info:
        client_for(url)
    assert "--allow-insecure" in str(info.value)
    client_for(url, ClientOptions(allow_insecure=True)).close()


@pytest.mark.parametrize("url", ["http://127.0.0.1:8000", "http://localhost", "http://[::1]:80",
                                 "http://audit.localhost:8000", "https://erp.example.com"])
def test_loopback_and_https_are_fine(url: str) -> None:
    with client_for(url) as client:  # not refused, and it aims at that very site
        assert client.url_for("/api/method/ping") == url + "/api/method/ping"


def test_options_from_config() -> None:
    site = SiteConfig(url="https://x.example.com", verify_tls="/etc/ca.pem", timeout=5,
                      host="x.example.com")
    o = ClientOptions.from_config(site, ca_bundle=None, allow_insecure=False, pool_size=16)
    assert (o.verify, o.read_timeout, o.connect_timeout, o.host_header, o.pool_size) == (
        "/etc/ca.pem", 5, 5, "x.example.com", 16)
    o = ClientOptions.from_config(site, ca_bundle="/tmp/b.pem", allow_insecure=True, pool_size=0)
    assert o.verify == "/tmp/b.pem" and o.allow_insecure and o.pool_size == 1
    assert (o.deadline, o.max_reply_bytes, o.max_list_reply_bytes) == (5, 8 << 20, 64 << 20)
    site = SiteConfig(url="https://x.example.com", max_reply_mb=0.5, max_list_reply_mb=2)
    o = ClientOptions.from_config(site, ca_bundle=None, allow_insecure=False, pool_size=1)
    assert (o.max_reply_bytes, o.max_list_reply_bytes) == (512 << 10, 2 << 20)


# -- sessions and threads -----------------------------------------------------------------
def test_one_session_per_thread() -> None:
    threads_n, per_thread = 8, 5
    barrier = threading.Barrier(threads_n)
    sessions: dict[int, set[int]] = {}
    lock = threading.Lock()

    with recording_server(ok_handler) as (url, rec):
        client = client_for(url, ClientOptions(pool_size=2))

        def work() -> None:
            barrier.wait()
            for _ in range(per_thread):
                client.get("/api/method/ping")
                with lock:
                    sessions.setdefault(threading.get_ident(), set()).add(id(client.session))

        workers = [threading.Thread(target=work) for _ in range(threads_n)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        assert client.session_count == threads_n
        client.close()
    assert all(len(ids) == 1 for ids in sessions.values())
    assert len({next(iter(ids)) for ids in sessions.values()}) == threads_n
    assert rec.count() == threads_n * per_thread


def test_each_thread_keeps_its_own_connection() -> None:
    threads_n, per_thread = 6, 4
    barrier = threading.Barrier(threads_n)

    def answer(request: bytes, n: int) -> bytes:
        return http_bytes("200 OK", b'{"message": "pong"}', close=False)

    with raw_server(answer) as (url, server):
        client = client_for(url)

        def work() -> None:
            barrier.wait()
            for _ in range(per_thread):
                assert client.get("/api/method/ping").message == "pong"

        workers = [threading.Thread(target=work) for _ in range(threads_n)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        client.close()
    assert server.count == threads_n * per_thread
    assert server.connections == threads_n  # one kept-alive connection per thread's Session


def test_closed_client_makes_no_new_sessions() -> None:
    client = client_for("http://127.0.0.1:9")
    client.close()
    with pytest.raises(RuntimeError):
        _ = client.session


# -- secrets stay out of logs and errors ---------------------------------------------------
def test_secret_never_in_logs_or_errors(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG), recording_server(flaky(503, 99)) as (url, _):
        client = client_for(url)
        client.get("/x")
        client.close()
    info = RedirectError("GET", url, 302, f"https://x/?k={SECRET}")
    assert SECRET not in caplog.text and KEY not in caplog.text
    assert SECRET not in str(info) and SECRET not in repr(client)
    assert SECRET not in repr(client.identity)
    err = TransportError("GET", f"http://x/?t={SECRET}", f"failed with {SECRET}")
    assert SECRET not in str(err)


# -- the rate limiter ---------------------------------------------------------------------
def test_rate_limiter_paces() -> None:
    limiter = RateLimiter(rate_per_s=50, max_concurrency=4)
    started = time.monotonic()
    for _ in range(11):
        limiter.acquire()
    assert time.monotonic() - started >= 0.19


def test_rate_limiter_bounds_concurrency() -> None:
    limiter = RateLimiter(rate_per_s=10_000, max_concurrency=2)
    active, peak = [0], [0]
    lock = threading.Lock()

    def work() -> None:
        with limiter.slot():
            with lock:
                active[0] += 1
                peak[0] = max(peak[0], active[0])
            time.sleep(0.05)
            with lock:
                active[0] -= 1

    workers = [threading.Thread(target=work) for _ in range(8)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert peak[0] == 2


def test_rate_limiter_slot_is_reentrant_and_pause_blocks() -> None:
    limiter = RateLimiter(rate_per_s=10_000, max_concurrency=1)
    with limiter.slot(), limiter.slot():
        pass
    limiter.pause_for(0.3)
    assert limiter.paused_for > 0.2
    started = time.monotonic()
    with limiter.slot():
        pass
    assert time.monotonic() - started >= 0.25
    limiter.pause_for(0)
    with pytest.raises(ValueError):
        RateLimiter(0, 1)
    with pytest.raises(ValueError):
        RateLimiter(1, 0)


# -- replies ------------------------------------------------------------------------------
def reply_of(body: object, status: int = 200) -> FrappeReply:
    return FrappeReply(method="GET", url="http://x/", status=status, body=body,
                       text=json.dumps(body), headers={}, latency_ms=1.0)


def test_reply_server_messages_decoded_twice() -> None:
    inner = json.dumps({"message": "User <strong>Guest</strong> does not have doctype access "
                                   "via role permission for document <strong>Vendor</strong>",
                        "title": "Message"})
    body = {"exc_type": "PermissionError", "_server_messages": json.dumps([inner]),
            "_error_message": "No permission for Vendor", "session_expired": 1,
            "exception": "frappe.exceptions.PermissionError"}
    r = reply_of(body, 403)
    assert r.exc_type == "PermissionError"
    assert r.server_messages == ["User <strong>Guest</strong> does not have doctype access via "
                                 "role permission for document <strong>Vendor</strong>"]
    assert r.error_message == "No permission for Vendor"
    assert r.session_expired and not r.ok and r.is_json
    assert r.data is None and r.message is None


def test_reply_error_message_sources() -> None:
    raised = json.dumps({"message": "Failed to decode token, please provide a valid base64-"
                                    "encoded token.", "raise_exception": 1})
    assert reply_of({"_server_messages": json.dumps([raised])}, 400).error_message.startswith(
        "Failed to decode token")
    assert reply_of({"message": "Invalid login credentials", "exc_type": "AuthenticationError"},
                    401).error_message == "Invalid login credentials"
    assert reply_of({"exception": "frappe.exceptions.ValidationError: Vendor Name is required"},
                    417).error_message == "Vendor Name is required"
    assert reply_of({"exception": "frappe.exceptions.AuthenticationError"}, 401).error_message == ""
    v2 = {"errors": [{"type": "PermissionError", "message": "No <b>x</b>"}], "messages": []}
    assert reply_of(v2, 403).exc_type == "PermissionError"
    assert reply_of(v2, 403).error_message == "No x"
    assert reply_of({"message": "Logged In"}).error_message == ""
    assert reply_of({"_server_messages": "not json"}).server_messages == ["not json"]
    assert reply_of(["a"]).data is None and reply_of({"data": [1]}).data == [1]


def test_plain_text() -> None:
    assert plain_text("<details><summary>You are not permitted.</summary>Function "
                      "<strong>a.b</strong> is not whitelisted.</details>") == \
        "You are not permitted. Function a.b is not whitelisted."
    assert plain_text("a<br>b &amp; c") == "a b & c"


def test_requests_session_is_not_shared_between_clients() -> None:
    with recording_server(ok_handler) as (url, _):
        a, b = client_for(url), client_for(url)
        a.get("/x")
        b.get("/x")
        assert a.session is not b.session
        assert isinstance(a.session, requests.Session)
        a.close()
        b.close()


# -- TLS settings win over the environment ------------------------------------------------
@pytest.fixture(scope="module")
def tls_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, str]]:
    """A real TLS server on loopback; yields (url, its CA bundle, an unrelated CA bundle)."""
    trustme = pytest.importorskip("trustme")
    folder = tmp_path_factory.mktemp("tls")
    ca, other = trustme.CA(), trustme.CA()
    good, wrong = folder / "site-ca.pem", folder / "other-ca.pem"
    ca.cert_pem.write_to_path(str(good))
    other.cert_pem.write_to_path(str(wrong))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    server = make_server("127.0.0.1", 0, lambda e, s: json_response({"message": "ok"})(e, s),
                         threaded=True, ssl_context=context)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_port}", str(good), str(wrong)
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("variable", ["REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"])
def test_configured_ca_bundle_wins_over_the_environment(
        tls_site: tuple[str, str, str], variable: str, monkeypatch: pytest.MonkeyPatch) -> None:
    url, good, wrong = tls_site
    monkeypatch.setenv(variable, wrong)
    with client_for(url, ClientOptions(verify=good, retries=0)) as client:
        assert client.get("/api/method/ping").message == "ok"
    monkeypatch.setenv(variable, good)
    with client_for(url, ClientOptions(verify=wrong, retries=0)) as client, \
            pytest.raises(TransportError) as info:
        client.get("/api/method/ping")
    assert "could not be verified" in info.value.reason


@pytest.mark.parametrize("variable", ["REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"])
def test_verify_false_wins_over_the_environment(
        tls_site: tuple[str, str, str], variable: str, monkeypatch: pytest.MonkeyPatch) -> None:
    url, _, wrong = tls_site
    monkeypatch.setenv(variable, wrong)
    with client_for(url, ClientOptions(verify=False, retries=0)) as client:
        assert client.get("/api/method/ping").message == "ok"


def test_ca_bundle_option_wins_over_config_and_environment(
        tls_site: tuple[str, str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    url, good, wrong = tls_site
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", wrong)
    site = SiteConfig(url=url, verify_tls=wrong, timeout=5)
    options = ClientOptions.from_config(site, ca_bundle=good, allow_insecure=False, pool_size=1)
    with client_for(url, options) as client:
        assert client.get("/api/method/ping").message == "ok"


def test_default_verification_uses_the_environment_bundle(
        tls_site: tuple[str, str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    """With ``verify_tls = true`` (the default) REQUESTS_CA_BUNDLE is honoured, as documented."""
    url, good, _ = tls_site
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", good)
    with client_for(url, ClientOptions(retries=0)) as client:
        assert client.get("/api/method/ping").message == "ok"


# -- bounded replies ------------------------------------------------------------------------
@contextmanager
def streaming_server(head: bytes, chunk: bytes,
                     pause: float) -> Iterator[tuple[str, list[bytes]]]:
    """Answers every request with ``head`` and then ``chunk`` every ``pause`` s, forever
    (until the client hangs up). Yields the URL and the requests received so far."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.1)
    stop = threading.Event()
    received: list[bytes] = []

    def serve(conn: socket.socket) -> None:
        with conn:
            data = b""
            while b"\r\n\r\n" not in data:
                more = conn.recv(65536)
                if not more:
                    return
                data += more
            received.append(data)
            try:
                conn.sendall(head)
                while not stop.is_set():
                    conn.sendall(chunk)
                    if pause:
                        time.sleep(pause)
            except OSError:
                pass  # the client hung up: what the bound is for

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}", received
    finally:
        stop.set()
        thread.join(2)
        listener.close()


ENDLESS_CHUNKED = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                   b"Transfer-Encoding: chunked\r\n\r\n")


@pytest.mark.timeout(60)
def test_endless_body_ends_in_an_error_at_the_size_limit() -> None:
    chunk = b"4000\r\n" + b"[" * 0x4000 + b"\r\n"
    options = ClientOptions(connect_timeout=2, read_timeout=20, retries=2, backoff=0.01,
                            max_reply_bytes=1 * 1024 * 1024)
    tracemalloc.start()
    try:
        with streaming_server(ENDLESS_CHUNKED, chunk, 0) as (url, sent), \
                client_for(url, options) as client, pytest.raises(TransportError) as info:
            client.get("/api/resource/Customer/Alpha")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert "larger than 1 MB" in info.value.reason and "max_reply_mb" in info.value.reason
    assert peak < 8 * 1024 * 1024  # memory stays near the limit, however much is sent
    assert len(sent) == 1  # an oversize reply is not asked for again


def test_declared_oversize_body_is_refused_before_reading() -> None:
    def answer(request: bytes, n: int) -> bytes:
        return http_bytes("200 OK", b"{}", content_length=50 * 1024 * 1024)

    options = ClientOptions(read_timeout=5, retries=0, max_reply_bytes=1024 * 1024)
    with raw_server(answer) as (url, _), client_for(url, options) as client, \
            pytest.raises(TransportError) as info:
        client.get("/api/resource/Customer/Alpha")
    assert "larger than 1 MB" in info.value.reason


def test_lists_get_the_larger_limit() -> None:
    body = json.dumps({"data": [{"name": "x" * 100}] * 20000}).encode()  # about 2.3 MB
    options = ClientOptions(read_timeout=10, retries=0, max_reply_bytes=1024 * 1024,
                            max_list_reply_bytes=8 * 1024 * 1024)

    def answer(request: bytes, n: int) -> bytes:
        return http_bytes("200 OK", body)

    with raw_server(answer) as (url, _), client_for(url, options) as client:
        assert len(client.get("/api/resource/Customer").data) == 20000
        with pytest.raises(TransportError):
            client.get(resource_path("Customer", "Alpha"))


@pytest.mark.timeout(60)
def test_drip_fed_reply_ends_at_the_deadline() -> None:
    head = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            b"Content-Length: 1000000\r\n\r\n")
    options = ClientOptions(connect_timeout=1, read_timeout=1.0, retries=2, backoff=0.01)
    with streaming_server(head, b"[", 0.05) as (url, sent), \
            client_for(url, options) as client, pytest.raises(TransportError) as info:
        client.get("/api/resource/Customer/Alpha")
    assert "did not complete within 1 s" in info.value.reason
    assert len(sent) == 1  # a request past its deadline is not sent again


@pytest.mark.parametrize("how", ["path", "segments", "params"])
def test_a_name_no_url_can_carry_is_a_transport_error_and_never_sent(how: str) -> None:
    odd = "odd\ud800name"  # a lone surrogate, as a reply's "\ud800" reads into Python
    unsent = pytest.raises(TransportError, match=r"not sent: .*lone UTF-16 surrogate")
    with recording_server(ok_handler) as (url, rec), client_for(url) as client, unsent:
        if how == "path":
            client.get(f"/api/resource/Note/{odd}")
        elif how == "segments":
            client.get(resource_path("Note", odd))
        else:
            client.get("/api/resource/Note", params={"filters": odd})
    assert rec.seen == []


def test_a_compressed_reply_is_bounded_by_its_decoded_size() -> None:
    """A gzip bomb: 256 MiB of JSON whitespace sent as some 250 KB; the limit counts what
    it decodes to, and memory stays near one network read decoded."""
    import gzip

    bomb = gzip.compress(b"[" + b" " * (256 * 1024 * 1024) + b"]", compresslevel=9)

    def handler(_request: Request) -> Response:
        return Response(bomb, headers={"Content-Type": "application/json",
                                       "Content-Encoding": "gzip"})

    options = ClientOptions(connect_timeout=2, read_timeout=20, retries=0,
                            max_reply_bytes=1 * 1024 * 1024)
    tracemalloc.start()
    try:
        with recording_server(handler) as (url, _rec), client_for(url, options) as client, \
                pytest.raises(TransportError) as info:
            client.get("/api/resource/Customer/Alpha")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(bomb) < 1024 * 1024  # what crossed the network
    assert "larger than 1 MB" in info.value.reason
    assert peak < 96 * 1024 * 1024, peak  # not the 256 MiB it decodes to


class _RecordingLimiter(RateLimiter):
    """Notes each pace wait (``acquire``) in ``events`` beside what the test notes."""

    def __init__(self, events: list[str]) -> None:
        super().__init__(1000, 2)
        self.events = events

    def acquire(self) -> None:
        super().acquire()
        self.events.append("wait")


def test_before_send_is_the_last_step_before_every_attempt() -> None:
    # a 429 first: its pause is waited out before the guard of the second attempt runs,
    # and the guard's own request (a re-read) waits before it, never between it and the send
    events: list[str] = []
    limiter = _RecordingLimiter(events)
    replies = iter([429, 200])

    def handler(request: Request) -> Response:
        status = 200 if request.path == "/api/resource/Doc/D-1" and request.method == "GET" \
            else next(replies)
        events.append(f"{request.method} {status}")
        return json_response({"data": "ok"} if status == 200 else {}, status,
                             {"Retry-After": "0.2"} if status == 429 else None)

    with recording_server(handler) as (url, _rec):
        client = client_for(url, limiter=limiter)

        def guard() -> bool:
            events.append("guard")
            return client.get("/api/resource/Doc/D-1").status == 200  # the re-read

        reply = client.delete("/api/resource/Doc/D-1", before_send=guard)
        client.close()
    assert reply.status == 200
    assert events == ["wait", "guard", "wait", "GET 200", "DELETE 429",
                      "wait", "guard", "wait", "GET 200", "DELETE 200"], events


def test_a_guard_that_says_no_keeps_the_request_unsent() -> None:
    with recording_server(flaky(429, 1, headers={"Retry-After": "0.1"})) as (url, rec), \
            client_for(url) as client:
        with pytest.raises(NotSent):
            client.delete("/api/resource/Doc/D-1", before_send=lambda: False)
        assert rec.count() == 0
        answers = iter([True, False])  # the first attempt goes (429); the second does not
        reply = client.delete("/api/resource/Doc/D-1", before_send=lambda: next(answers))
        assert reply.status == 429 and rec.count() == 1
