"""The Elasticsearch ``user_agent`` processor's answer for the agents CloudTrail records carry.

Elasticsearch parses ``userAgent`` with its bundled copy of the uap-core regexes: the first
matching user-agent, OS and device rule wins, unmatched parts become ``Other`` (name, device) or
are left out (OS). Rules (detection-rules and analysts) key on ``user_agent.name`` (``aws-cli``,
``Boto3``) and on ``user_agent.device.name`` (``Spider`` for anything saying "bot", which
includes every ``botocore`` string), so the emulation keeps the real rule order for the rules
that can match such agents: AWS CLI and SDKs, HTTP libraries and tools, service names and
``AWS Internal``. Any other string the subset leaves as ``Other`` (browsers: console sign-ins,
the AWS console calling KMS) goes through the ``ua-parser`` package, which ships the same
uap-core regexes Elasticsearch bundles, for its full answer. Results are cached per string, as
Elasticsearch does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

_AGENT_RULES: tuple[tuple[re.Pattern[str], str | None], ...] = tuple(
    (re.compile(p), name) for p, name in (
        (r"(Google-HTTP-Java-Client|Apache-HttpClient|Go-http-client|scalaj-http|http%20client|"
         r"Python-urllib|HttpMonitor|TLSProber|WinHTTP|JNLP|okhttp|aihttp|reqwest)"
         r"(?:[ /](\d+)(?:\.(\d+)|)(?:\.(\d+)|)|)", None),
        (r"\b(Boto3?|JetS3t|aws-(?:cli|sdk-(?:cpp|go|java|nodejs|ruby2?))|s3fs)/"
         r"(\d+)\.(\d+)(?:\.(\d+)|)", None),
        (r"(?:\/[A-Za-z0-9\.]+|) {0,5}([A-Za-z0-9 \-_\!\[\]:]{0,50}(?:[Aa]rchiver|[Ii]ndexer|"
         r"[Ss]craper|[Bb]ot|[Ss]pider|[Cc]rawl[a-z]{0,50}))[/ ](\d+)(?:\.(\d+)(?:\.(\d+)|)|)",
         None),
        (r"(python-requests)/(\d+)\.(\d+)", "Python Requests"),
        (r"\b(Windows-Update-Agent|Microsoft-CryptoAPI|SophosUpdateManager|SophosAgent|"
         r"Debian APT-HTTP|Ubuntu APT-HTTP|libcurl-agent|libwww-perl|urlgrabber|curl|PycURL|"
         r"Wget|aria2|Axel|OpenBSD ftp|lftp|jupdate|insomnia)"
         r"(?:[ /](\d+)(?:\.(\d+)|)(?:\.(\d+)|)|)", None),
        (r"(Java)[/ ]{0,1}\d+\.(\d+)\.(\d+)[_-]*([a-zA-Z0-9]+|)", None),
    )
)

# (pattern, os name replacement, version-1 replacement)
_OS_RULES: tuple[tuple[re.Pattern[str], str | None, str | None], ...] = tuple(
    (re.compile(p), name, v1) for p, name, v1 in (
        (r"(Android)[ \-/](\d+)(?:\.(\d+)|)(?:[.\-]([a-z0-9]+)|)", None, None),
        (r"(Windows 10)", "Windows", "10"),
        (r"(Windows (?:NT 5\.2|NT 5\.1))", "Windows", "XP"),
        (r"(Windows NT 6\.1)", "Windows", "7"),
        (r"(Windows NT 6\.2)", "Windows", "8"),
        (r"(Windows NT 10\.0)", "Windows", "10"),
        (r"Win(?:dows)? ?(95|98|3.1|NT|ME|2000|XP|Vista|7|CE)", "Windows", "$1"),
        (r"((?:Mac[ +]?|; )OS[ +]X)[\s+/](?:(\d+)[_.](\d+)(?:[_.](\d+)|)|Mach-O)",
         "Mac OS X", None),
        (r"([Dd]ebian)", "Debian", None),
        (r"(Fedora|Red Hat|PCLinuxOS|Puppy|Ubuntu|Kindle|Bada|Sailfish|Lubuntu|BackTrack|"
         r"Slackware|(?:Free|Open|Net|\b)BSD)[/ ](\d+)\.(\d+)(?:\.(\d+)|)(?:\.(\d+)|)", None, None),
        (r"(Linux)[ /](\d+)\.(\d+)(?:\.(\d+)|).*gentoo", "Gentoo", None),
        (r"(Windows|Android|WeTab|Maemo|Web0S)", None, None),
        (r"(Ubuntu|Kubuntu|Arch Linux|CentOS|Slackware|Gentoo|openSUSE|SUSE|Red Hat|Fedora|"
         r"PCLinuxOS|Mageia|(?:Free|Open|Net|\b)BSD)", None, None),
        (r"(Linux)(?:[ /](\d+)\.(\d+)(?:\.(\d+)|)|)", None, None),
        (r"SunOS", "Solaris", None),
        (r"\(linux-gnu\)", "Linux", None),
        (r"\(x86_64-redhat-linux-gnu\)", "Red Hat", None),
        (r"\((freebsd)(\d+)\.(\d+)\)", "FreeBSD", None),
        # The catch-all for a bare lower-case token: aws-cli v2 and botocore's ``os/linux#...``.
        (r"linux", "Linux", None),
    )
)

# The device rule that decides "Spider": any of these words anywhere, case-insensitively (the
# generic rule's tokens that can occur in API clients; the brand/model rules never match them).
_SPIDER_WORDS = ("bot", "crawl", "spider", "scraper", "indexer", "archiver", "slurp", "yahoo",
                 "silk", "zeal", "borg", "zao", "lycos", "yeti", "pingdom", "statuscake",
                 "masscan", "winhttp", "tlsprober", "python-urllib", "http%20client")
_SPIDER = re.compile("|".join(re.escape(w) for w in _SPIDER_WORDS) + r"|^java/|^jnlp/",
                     re.IGNORECASE)


@dataclass(frozen=True)
class _Parsed:
    name: str
    version: str | None
    os_name: str | None
    os_version: str | None
    device: str


def _version(groups: tuple[str | None, ...]) -> str | None:
    """major[.minor[.patch[.build]]], stopping at the first missing part, as Elasticsearch does."""
    parts: list[str] = []
    for g in groups:
        if not g:
            break
        parts.append(g)
    return ".".join(parts) or None


@lru_cache(maxsize=4096)
def _parse(text: str) -> _Parsed:
    name, version = "Other", None
    for pattern, replacement in _AGENT_RULES:
        m = pattern.search(text)
        if m:
            name = replacement or m.group(1)
            version = _version(m.groups()[1:4])
            break
    os_name = os_version = None
    for pattern, replacement, v1 in _OS_RULES:
        m = pattern.search(text)
        if m:
            groups = m.groups()
            os_name = replacement if replacement else (groups[0] if groups else None)
            if v1 is not None:
                first = v1.replace("$1", groups[0] or "") if groups else v1
                os_version = _version((first,))
            else:
                os_version = _version(groups[1:5])
            break
    device = "Spider" if _SPIDER.search(text) else "Other"
    if name == "Other":
        return _uap_core(text) or _Parsed(name, version, os_name, os_version, device)
    return _Parsed(name, version, os_name, os_version, device)


def _uap_core(text: str) -> _Parsed | None:
    """uap-core's whole rule set (the ``ua-parser`` package) for agents the subset cannot name."""
    from ua_parser import parse

    result = parse(text)
    agent = result.user_agent
    if agent is None or agent.family == "Other":
        return None
    os = result.os
    has_os = os is not None and os.family != "Other"
    device = result.device.family if result.device is not None else "Other"
    return _Parsed(agent.family,
                   _version((agent.major, agent.minor, agent.patch, agent.patch_minor)),
                   os.family if has_os and os is not None else None,
                   _version((os.major, os.minor, os.patch, os.patch_minor))
                   if has_os and os is not None else None,
                   device)


def parse_user_agent(text: str) -> dict[str, Any]:
    """The ``user_agent`` object Elasticsearch writes for ``text`` (``original`` included)."""
    p = _parse(text)
    result: dict[str, Any] = {"original": text, "name": p.name}
    if p.version:
        result["version"] = p.version
    if p.os_name:
        os: dict[str, str] = {"name": p.os_name}
        if p.os_version:
            os["version"] = p.os_version
            os["full"] = f"{p.os_name} {p.os_version}"
        result["os"] = os
    result["device"] = {"name": p.device}
    return result
