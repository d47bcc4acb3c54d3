"""Post URLs: the one check and canonical form that validation, and later deduplication, share."""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

# The common shape of a post URL, checked and canonicalised without urlsplit (a million URLs).
_SIMPLE_URL = re.compile(r"(?i)(https?)://([a-z0-9.-]+)(?::(\d{1,5}))?(/[^\s#?]*)?(\?[^\s#]*)?(#\S*)?")


def url_key(url: str) -> tuple[str | None, str | None]:
    """Return (canonical form, None) for a valid URL, or (None, problem)."""
    simple = _SIMPLE_URL.fullmatch(url)
    if simple:
        scheme, host, port, path, query, _ = simple.groups()
        scheme = scheme.lower()
        if port is None or int(port) <= 65535:
            default = port is None or int(port) == (80 if scheme == "http" else 443)
            netloc = host.lower() if default else f"{host.lower()}:{int(port)}"
            query = query if query and len(query) > 1 else ""
            return f"{scheme}://{netloc}{(path or '').rstrip('/')}{query}", None
    problem = _check_url(url)
    return (None, problem) if problem else (canonical_url(url), None)


def _check_url(url: str) -> str | None:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 -- raises on a malformed or out-of-range port
    except ValueError as exc:
        return f"malformed URL ({exc}): {url[:80]!r}"
    if parts.scheme.lower() not in ("http", "https"):
        return f"expected an absolute http(s) URL, got {url[:80]!r}"
    if not parts.netloc or not parts.hostname:
        return f"expected an absolute http(s) URL with a host, got {url[:80]!r}"
    if any(ch.isspace() for ch in url):
        return "URL contains white space"
    if "\\" in url:
        return "URL holds a backslash, which browsers read as '/': it could lead elsewhere than it shows"
    if "@" in parts.netloc:
        return (f"URL holds user information before '@', which hides its real host "
                f"{parts.hostname!r}: link to the post itself")
    return None


def display_host(url: str) -> str:
    """The host a link really leads to, as a reader should see it: lower case, and an
    internationalised name in its ASCII (punycode) form, which cannot imitate another."""
    host = (urlsplit(url).hostname or "").lower()
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:
        return host.encode("ascii", "backslashreplace").decode("ascii")


def canonical_url(url: str) -> str:
    """Return the form two URLs of the same post share: lower-case scheme and host,
    no default port, no trailing slash, no fragment."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    port = parts.port
    if port and not ((scheme == "http" and port == 80) or (scheme == "https" and port == 443)):
        host = f"{host}:{port}"
    path = parts.path.rstrip("/")
    return urlunsplit((scheme, host, path, parts.query, ""))
