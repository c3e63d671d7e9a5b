"""curl's command-line options, as far as reading a pasted command needs them (curl 8).

An option that takes a value must be known as such, or its value would be read as the URL
(and shown). An option in neither table is refused rather than guessed at.
"""

from __future__ import annotations

__all__ = ["DATA", "FLAGS", "SECRET_VALUE", "SHORT_FLAGS", "SHORT_VALUE", "VALUE",
           "is_flag"]

# one-letter options that take a value (``-XPOST`` and ``-X POST`` both work)
SHORT_VALUE = frozenset("AbcCdDeEFHKmoPQrtTuUwxXyYz")
# one-letter options that take none (they can be bundled: ``-sSL``)
SHORT_FLAGS = frozenset("012346aBfgGiIjJklLMnNOpqRsSvVZ#:h")

VALUE = frozenset({
    "--abstract-unix-socket", "--alt-svc", "--aws-sigv4", "--cacert", "--capath", "--cert",
    "--cert-type", "--ciphers", "--config", "--connect-timeout", "--connect-to",
    "--continue-at", "--cookie", "--cookie-jar", "--create-file-mode", "--crlfile", "--curves",
    "--data", "--data-ascii", "--data-binary", "--data-raw", "--data-urlencode", "--delegation",
    "--dns-interface", "--dns-ipv4-addr", "--dns-ipv6-addr", "--dns-servers", "--doh-url",
    "--dump-header", "--ech", "--egd-file", "--engine", "--etag-compare", "--etag-save",
    "--expect100-timeout", "--form", "--form-string", "--ftp-account",
    "--ftp-alternative-to-user", "--ftp-method", "--ftp-port", "--ftp-ssl-ccc-mode",
    "--happy-eyeballs-timeout-ms", "--header", "--hostpubmd5", "--hostpubsha256", "--hsts",
    "--interface", "--ip-tos", "--ipfs-gateway", "--json", "--keepalive-cnt", "--keepalive-time",
    "--key", "--key-type", "--krb", "--libcurl", "--limit-rate", "--local-port",
    "--login-options", "--mail-auth", "--mail-from", "--mail-rcpt", "--max-filesize",
    "--max-redirs", "--max-time", "--netrc-file", "--noproxy", "--oauth2-bearer", "--output",
    "--output-dir", "--parallel-max", "--pass", "--pinnedpubkey", "--preproxy", "--proto",
    "--proto-default", "--proto-redir", "--proxy", "--proxy-cacert", "--proxy-capath",
    "--proxy-cert", "--proxy-cert-type", "--proxy-ciphers", "--proxy-crlfile", "--proxy-header",
    "--proxy-key", "--proxy-key-type", "--proxy-pass", "--proxy-pinnedpubkey",
    "--proxy-service-name", "--proxy-tls13-ciphers", "--proxy-tlsauthtype",
    "--proxy-tlspassword", "--proxy-tlsuser", "--proxy-user", "--proxy1.0", "--pubkey",
    "--quote", "--random-file", "--range", "--rate", "--referer", "--request",
    "--request-target", "--resolve", "--retry", "--retry-delay", "--retry-max-time",
    "--sasl-authzid", "--service-name", "--socks4", "--socks4a", "--socks5",
    "--socks5-gssapi-service", "--socks5-hostname", "--speed-limit", "--speed-time", "--stderr",
    "--telnet-option", "--tftp-blksize", "--time-cond", "--tls-max", "--tls13-ciphers",
    "--tlsauthtype", "--tlspassword", "--tlsuser", "--trace", "--trace-ascii", "--trace-config",
    "--unix-socket", "--upload-file", "--url", "--url-query", "--user", "--user-agent",
    "--variable", "--write-out",
    # the one-letter forms, by their own names
    *(f"-{c}" for c in SHORT_VALUE),
})

FLAGS = frozenset({
    "--anyauth", "--append", "--basic", "--ca-native", "--cert-status", "--compressed",
    "--compressed-ssh", "--create-dirs", "--crlf", "--digest", "--disable",
    "--disable-eprt", "--disable-epsv", "--disallow-username-in-url", "--doh-cert-status",
    "--doh-insecure", "--fail", "--fail-early", "--fail-with-body", "--false-start",
    "--ftp-create-dirs", "--ftp-pasv", "--ftp-pret", "--ftp-skip-pasv-ip", "--ftp-ssl-control",
    "--get", "--globoff", "--haproxy-protocol", "--head", "--help", "--http0.9", "--http1.0",
    "--http1.1", "--http2", "--http2-prior-knowledge", "--http3", "--http3-only",
    "--ignore-content-length", "--include", "--insecure", "--ipv4", "--ipv6",
    "--junk-session-cookies", "--list-only", "--location", "--location-trusted", "--manual",
    "--mptcp", "--negotiate", "--netrc", "--netrc-optional", "--next", "--no-alpn",
    "--no-buffer", "--no-clobber", "--no-keepalive", "--no-npn", "--no-progress-meter",
    "--no-sessionid", "--ntlm", "--ntlm-wb", "--parallel", "--parallel-immediate",
    "--path-as-is", "--post301", "--post302", "--post303", "--progress-bar",
    "--proxy-anyauth", "--proxy-basic", "--proxy-ca-native", "--proxy-digest",
    "--proxy-http2", "--proxy-insecure", "--proxy-negotiate", "--proxy-ntlm",
    "--proxy-ssl-allow-beast", "--proxy-ssl-auto-client-cert", "--proxytunnel", "--raw",
    "--remote-header-name", "--remote-name", "--remote-name-all", "--remote-time",
    "--remove-on-error", "--retry-all-errors", "--retry-connrefused", "--sasl-ir",
    "--show-error", "--show-headers", "--silent", "--skip-existing", "--socks5-basic",
    "--socks5-gssapi", "--socks5-gssapi-nec", "--ssl", "--ssl-allow-beast",
    "--ssl-auto-client-cert", "--ssl-no-revoke", "--ssl-reqd", "--ssl-revoke-best-effort",
    "--sslv2", "--sslv3", "--styled-output", "--suppress-connect-headers", "--tcp-fastopen",
    "--tcp-nodelay", "--tftp-no-options", "--tlsv1", "--tlsv1.0", "--tlsv1.1", "--tlsv1.2",
    "--tlsv1.3", "--tr-encoding", "--trace-ids", "--trace-time", "--use-ascii", "--verbose",
    "--version", "--xattr",
})

# options whose value is itself a credential (registered as a secret, never shown)
SECRET_VALUE = frozenset({"--oauth2-bearer", "-u", "--user", "-U", "--proxy-user", "--pass",
                          "--proxy-pass", "--tlspassword", "--proxy-tlspassword",
                          "--ftp-account"})
# options whose value is a request body
DATA = frozenset({"-d", "--data", "--data-raw", "--data-binary", "--data-ascii",
                  "--data-urlencode", "-F", "--form", "--form-string", "-T", "--upload-file",
                  "--json"})


def is_flag(name: str) -> bool:
    """A long option without a value, ``--no-`` forms of boolean options included."""
    return name in FLAGS or (name.startswith("--no-") and f"--{name[5:]}" in FLAGS)
