"""A corpus of fake secrets of many kinds, generated at test time from parts.

Nothing here is a live-looking secret: prefixes are split (``"gh" + "p_"``) and
bodies are random, so this file trips no scanner. Kinds follow the upstream
rules' own test cases (gitleaks cmd/generate/config/rules/*.go, detect-secrets
plugins) and issue 13's classes (config syntaxes, command-line passwords,
cookies, URL parameters, Authorization with any scheme, private key blocks).

    >>> secrets = build(random.Random(1))
    >>> len({s.kind for s in secrets}) >= 100
    True
"""

from __future__ import annotations

import base64
import random
import string
from collections.abc import Callable
from typing import NamedTuple

import orjson

AN = string.ascii_letters + string.digits
LO = string.ascii_lowercase + string.digits
UP = string.ascii_uppercase + string.digits
HEX = "0123456789abcdef"
B64 = AN + "+/"
D = string.digits


class Secret(NamedTuple):
    kind: str
    secret: str       # what must not reach the disk
    text: str         # the secret in its natural setting (one line or a block)
    shaped: bool      # recognisable by its shape alone (may appear in any context)


def _r(rng: random.Random, n: int, alphabet: str = AN) -> str:
    while True:  # real keys mix digits and letters
        s = "".join(rng.choice(alphabet) for _ in range(n))
        if not any(c.isalpha() for c in alphabet) or not any(c.isdigit() for c in alphabet):
            return s
        if any(c.isdigit() for c in s) and any(c.isalpha() for c in s):
            return s


def _tokens(g: Callable[..., str]) -> dict[str, str]:
    """kind -> token recognisable by shape (prefixes split so no scanner sees them)."""
    return {
        "openai": "sk-" + "proj-" + g(74, AN + "_-") + "T3Blbk" + "FJ" + g(74, AN + "_-"),
        "openai-legacy": "sk-" + g(48),
        "anthropic": "sk-" + "ant-api03-" + g(93, AN + "_-") + "AA",
        "anthropic-admin": "sk-" + "ant-admin01-" + g(93, AN + "_-") + "AA",
        "perplexity": "pp" + "lx-" + g(48),
        "groq": "gs" + "k_" + g(52),
        "xai": "xa" + "i-" + g(80),
        "huggingface": "hf" + "_" + g(34, string.ascii_letters),
        "huggingface-org": "api" + "_org_" + g(34, string.ascii_letters),
        "langsmith": "lsv2" + "_pt_" + g(32, HEX) + "_" + g(10, HEX),
        "pinecone": "pc" + "sk_" + g(6) + "_" + g(60),
        "github-pat": "gh" + "p_" + g(36),
        "github-oauth": "gh" + "o_" + g(36),
        "github-user": "gh" + "u_" + g(36),
        "github-server": "gh" + "s_" + g(36),
        "github-refresh": "gh" + "r_" + g(36),
        "github-fine-grained": "github" + "_pat_" + g(22) + "_" + g(59),
        "gitlab-pat": "gl" + "pat-" + g(20),
        "gitlab-deploy": "gl" + "dt-" + g(20),
        "gitlab-runner": "gl" + "rt-" + g(20),
        "gitlab-trigger": "gl" + "ptt-" + g(40, HEX),
        "gitlab-job": "gl" + "cbt-" + g(2) + "_" + g(20),
        "gitlab-feed": "gl" + "ft-" + g(20),
        "gitlab-mail": "gl" + "imt-" + g(25),
        "gitlab-agent": "gl" + "agent-" + g(50),
        "gitlab-oauth-app": "gl" + "oas-" + g(64),
        "gitlab-scim": "gl" + "soat-" + g(20),
        "gitlab-flags": "gl" + "ffct-" + g(20),
        "gitlab-registration": "GR" + "1348941" + g(20),
        "bitbucket": "AT" + "BB" + g(32),
        "npm": "np" + "m_" + g(36),
        "pypi": "pypi-" + "AgEIcHlwaS5vcmc" + g(70, AN + "_-"),
        "rubygems": "ruby" + "gems_" + g(48, HEX),
        "clojars": "CLO" + "JARS_" + g(60, LO),
        "docker-hub": "dckr" + "_pat_" + g(27, AN + "_-"),
        "buildkite": "bk" + "ua_" + g(40, HEX),
        "circleci": "CCI" + "PAT_" + g(22) + "_" + g(40, HEX),
        "sonarqube": "sq" + "p_" + g(40, HEX),
        "sourcegraph": "sg" + "p_" + g(16, HEX) + "_" + g(40, HEX),
        "jfrog": "AK" + "Cp" + g(69),
        "octopus": "AP" + "I-" + g(26, UP),
        "prefect": "pn" + "u_" + g(36),
        "postman": "PM" + "AK-" + g(24, HEX) + "-" + g(34, HEX),
        "linear": "lin" + "_api_" + g(40),
        "notion-legacy": "sec" + "ret_" + g(43),
        "figma": "fi" + "gd_" + g(40, AN + "_-"),
        "atlassian": "ATA" + "TT3" + g(186, AN + "_-"),
        "aws-access-key": "AK" + "IA" + g(16, string.ascii_uppercase + "234567"),
        "aws-temp-key": "AS" + "IA" + g(16, string.ascii_uppercase + "234567"),
        "gcp-api-key": "AI" + "za" + g(35, AN + "_-"),
        "google-oauth-secret": "GOC" + "SPX-" + g(28),
        "google-oauth-access": "ya" + "29." + g(100, AN + "_-"),
        "azure-ad-secret": g(3) + "8Q" + "~" + g(34, AN + "_~."),
        "alibaba": "LT" + "AI" + g(20),
        "tencent": "AK" + "ID" + g(32),
        "digitalocean-pat": "dop" + "_v1_" + g(64, HEX),
        "digitalocean-oauth": "doo" + "_v1_" + g(64, HEX),
        "digitalocean-refresh": "dor" + "_v1_" + g(64, HEX),
        "heroku": "HR" + "KU-AA" + g(58, AN + "_-"),
        "vercel": "ver" + "cel_" + g(24),
        "netlify": "nf" + "p_" + g(40),
        "supabase": "sb" + "p_" + g(40, HEX),
        "cloudflare-origin-ca": "v1" + ".0-" + g(24, HEX) + "-" + g(146, HEX),
        "terraform-cloud": g(14) + ".atlas" + "v1." + g(67, AN + "_-"),
        "vault-service": "hv" + "s." + g(95, AN + "_-"),
        "vault-batch": "hv" + "b." + g(140, AN + "_-"),
        "doppler": "dp" + ".pt." + g(43),
        "pulumi": "pu" + "l-" + g(40, HEX),
        "planetscale": "pscale" + "_tkn_" + g(43),
        "planetscale-password": "pscale" + "_pw_" + g(43),
        "scalingo": "tk" + "-us-" + g(48, AN + "_-"),
        "tailscale": "ts" + "key-auth-" + g(12) + "-" + g(30),
        "openshift": "sha" + "256~" + g(43, AN + "_-"),
        "dynatrace": "dt0" + "c01." + g(24, UP) + "." + g(64, UP),
        "age": "AGE-" + "SECRET-KEY-1" + g(58, "QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L"),
        "1password-sa": "op" + "s_eyJ" + g(250, B64),
        "grafana-cloud": "gl" + "c_" + g(40, B64),
        "grafana-sa": "gl" + "sa_" + g(32) + "_" + g(8, HEX),
        "newrelic-user": "NR" + "AK-" + g(27, UP),
        "newrelic-browser": "NR" + "JS-" + g(19, HEX),
        "sentry-user": "sntr" + "yu_" + g(64, HEX),
        "databricks": "da" + "pi" + g(32, HEX),
        "harness": "pa" + "t." + g(22) + "." + g(24) + "." + g(20),
        "defined-networking": "dn" + "key-" + g(26) + "-" + g(52),
        "settlemint": "sm" + "_pat_" + g(16),
        "stripe-live": "sk" + "_live_" + g(24),
        "stripe-restricted": "rk" + "_live_" + g(24),
        "stripe-test": "sk" + "_test_" + g(24),
        "stripe-webhook": "wh" + "sec_" + g(32),
        "shopify-access": "sh" + "pat_" + g(32, HEX),
        "shopify-custom": "sh" + "pca_" + g(32, HEX),
        "shopify-private": "sh" + "ppa_" + g(32, HEX),
        "shopify-shared": "sh" + "pss_" + g(32, HEX),
        "square": "sq0" + "atp-" + g(22, AN + "_-"),
        "square-secret": "sq0" + "csp-" + g(43, AN + "_-"),
        "shippo": "shi" + "ppo_live_" + g(40, HEX),
        "duffel": "duf" + "fel_live_" + g(43, AN + "_-"),
        "easypost": "EZ" + "AK" + g(54),
        "flutterwave": "FLW" + "SECK_TEST-" + g(32, HEX) + "-X",
        "razorpay": "rz" + "p_live_" + g(14),
        "facebook-page": "EA" + "AC" + g(120),
        "slack-bot": "xo" + "xb-" + g(12, D) + "-" + g(13, D) + "-" + g(24),
        "slack-user": "xo" + "xp-" + g(12, D) + "-" + g(12, D) + "-" + g(12, D) + "-" + g(32, HEX),
        "slack-app": "xa" + "pp-1-" + g(11, UP) + "-" + g(13, D) + "-" + g(64, HEX),
        "slack-webhook": "https://hooks." + "slack.com/services/T" + g(8, UP) + "/B" + g(10, UP) + "/" + g(24),
        "discord-webhook": "https://discord." + "com/api/webhooks/" + g(18, D) + "/" + g(68, AN + "_-"),
        "discord-bot": "MT" + g(22, AN) + "." + g(6, AN) + "." + g(38, AN + "_-"),
        "telegram-bot": g(9, D) + ":AA" + g(33, AN + "_-"),
        "teams-webhook": "https://acme.webhook." + "office.com/webhookb2/" + g(8, HEX) + "-" + g(4, HEX) + "@" + g(36, HEX),
        "twilio-key": "S" + "K" + g(32, HEX),
        "okta-ssws": "SS" + "WS 00" + g(40, AN + "_-"),  # an Okta API token as its header sends it
        "sendgrid": "S" + "G." + g(22, AN + "_-") + "." + g(43, AN + "_-"),
        "sendinblue": "xkey" + "sib-" + g(64, HEX) + "-" + g(16),
        "mailgun": "ke" + "y-" + g(32, HEX),
        "typeform": "tf" + "p_" + g(59, AN + "_-"),
        "adobe": "p8" + "e-" + g(32),
        "contentful": "CF" + "PAT-" + g(43, AN + "_-"),
        "mapbox-secret": "sk" + ".eyJ" + g(60) + "." + g(22),
        "jwt": "ey" + "J" + g(30) + ".ey" + "J" + g(60) + "." + g(43, AN + "_-"),
        "aws-session": "Fwo" + "GZXIvYXdz" + g(200, B64),
        "private-key-b64": "LS0tLS1" + "CRUdJTi" + g(200, B64),
    }


def _pem(g: Callable[..., str], label: str) -> str:
    dashes = "-" * 5
    body = "\n".join(g(64, B64) for _ in range(8))
    return f"{dashes}BEGIN {label}{dashes}\n{body}\n{dashes}END {label}{dashes}"


PW = "@PW@"  # replaced by a fresh password in each entry


def _named(g: Callable[..., str], fresh: Callable[[], str]) -> list[tuple[str, str, str]]:
    """(kind, secret, text): secrets that only their setting gives away."""
    user = "deploy"
    b64 = base64.b64encode(f"{user}:{fresh()}".encode()).decode()
    pw = PW
    upw = g(20)  # in a URL a password is percent-encoded; a random URL-safe one stands for it
    aws = g(40, B64)
    bare = [g(32, HEX), g(34), g(40, LO), g(24)]  # providers' own keys: bare hex or alphanumerics
    return [
        ("env-file", pw, f"DB_PASSWORD={pw}"),
        ("env-export", pw, f'export STRIPE_API_KEY="{pw}"'),
        ("aws-secret-key", aws, f"aws_secret_access_key = {aws}"),
        ("yaml", pw, f"database:\n  host: db\n  password: {pw}\n"),
        ("ini", pw, f"[client]\nuser = {user}\npassword = {pw}\n"),
        ("toml", pw, f'[auth]\napi_token = "{pw}"\n'),
        ("json-config", pw, orjson.dumps({"db": {"password": pw}}).decode()),
        ("xml-element", pw, f"<config><password>{pw}</password></config>"),
        ("xml-attribute", pw, f'<datasource user="{user}" password="{pw}"/>'),
        ("xml-add-key", pw, f'<add key="ApiSecret" value="{pw}" />'),
        ("k8s-env", pw, f"env:\n  - name: DB_PASSWORD\n    value: {pw}\n"),
        ("netrc", pw, f"machine api.example.com login {user} password {pw}"),
        ("pgpass", pw, f"$ cat ~/.pgpass\ndb.internal:5432:app:{user}:{pw}"),
        ("sql-identified-by", pw, f"CREATE USER '{user}'@'%' IDENTIFIED BY '{pw}';"),
        ("sql-with-password", pw, f"ALTER ROLE {user} WITH PASSWORD '{pw}';"),
        ("curl-user", pw, f"curl -u {user}:{pw} https://api.example.com/v1"),
        ("curl-header", pw, f"curl -H 'X-Api-Key: {pw}' https://api.example.com"),
        ("mysql-flag", pw, f"mysql -h db -u {user} -p{pw} app"),
        ("password-flag", pw, f"mytool --password={pw} --verbose"),
        ("docker-login", pw, f"docker login -u {user} -p {pw} registry.example.com"),
        ("redis-cli", pw, f"redis-cli -h cache -a {pw} ping"),
        ("ldap-bind", pw, f"ldapsearch -x -D cn=admin,dc=example -w {pw} -b dc=example"),
        ("sshpass", pw, f"sshpass -p {pw} ssh {user}@host"),
        ("pgpassword", pw, f"PGPASSWORD={pw} psql -h db -U {user}"),
        ("openssl-pass", pw, f"openssl pkcs12 -in cert.p12 -passin pass:{pw}"),
        ("smbclient", pw, f"smbclient //fs/share -U {user}%{pw}"),
        ("keytool", pw, f"keytool -list -keystore ks.jks -storepass {pw}"),
        ("url-credentials", upw + "a", f"postgres://{user}:{upw}a@db.internal:5432/app"),
        ("git-credentials", upw + "b", f"https://{user}:{upw}b@git.example.com"),
        ("url-query-token", upw + "c", f"https://api.example.com/v1/items?access_token={upw}c&page=2"),
        ("url-query-key", upw + "d", f"https://maps.example.com/api?key={upw}d&q=x"),
        ("url-query-sig", upw + "Zq", f"https://acct.blob.core.windows.net/c/b?sv=2022&sig={upw}Zq"),
        ("cookie", pw + "Xs1", f"Cookie: sessionid={pw}Xs1; theme=dark"),
        ("set-cookie", pw + "Yt2", f"Set-Cookie: session={pw}Yt2; Path=/; HttpOnly"),
        ("authorization-bearer", pw, f'-H "Authorization: Bearer {pw}"'),
        ("authorization-basic", b64, f"Authorization: Basic {b64}"),
        ("authorization-token", pw, f"headers: Authorization: Token {pw}"),
        ("authorization-digest", pw, f'GET / Authorization: Digest username="{user}", response={pw}'),
        ("authorization-aws4", pw, f"Authorization: AWS4-HMAC-SHA256 Credential=AKID/x, Signature={pw}"),
        ("authorization-sso", pw, f"Authorization: sso-key {pw}"),
        ("bearer-bare", aws[:32].replace("+", "x").replace("/", "y"),
         f"the call used Bearer {aws[:32].replace('+', 'x').replace('/', 'y')} and failed"),
        ("client-secret", pw, f"client_secret => '{pw}'"),
        ("go-assign", pw, f'apiKey := "{pw}"'),
        ("private-key-named", pw, f"signing_key: {pw}"),
        # a provider's name, an operator and the key: no secret word, no prefix
        ("bare-provider-eq", bare[0], f"datadog = {bare[0]}"),
        ("bare-provider-colon", bare[1], f"twilio: {bare[1]}"),
        ("bare-provider-env", bare[2], f"export SENDGRID={bare[2]}"),
        ("bare-provider-json", bare[3], f'{{"okta": "{bare[3]}", "org": "acme"}}'),
    ]


def build(rng: random.Random) -> list[Secret]:
    """Every kind once, each with a fresh random body."""
    def g(n: int, alphabet: str = AN) -> str:
        return _r(rng, n, alphabet)

    out = [Secret(k, t, t, True) for k, t in _tokens(g).items()]
    pw = lambda: g(6) + "!" + g(8, AN + "#%^*")  # noqa: E731 - a fresh password each time
    for k, s, t in _named(g, pw):
        p = pw()
        out.append(Secret(k, s.replace(PW, p), t.replace(PW, p), False))
    for label in ("RSA PRIVATE KEY", "EC PRIVATE KEY", "OPENSSH PRIVATE KEY", "PRIVATE KEY",
                  "ENCRYPTED PRIVATE KEY", "PGP PRIVATE KEY BLOCK", "DSA PRIVATE KEY"):
        block = _pem(g, label)
        out.append(Secret("pem-" + label.split()[0].lower(), block.splitlines()[3], block, False))
    putty = "PuTTY-User-Key-File-3: ssh-ed25519\nPrivate-Lines: 1\n" + g(64, B64) + "\nPrivate-MAC: " + g(64, HEX)
    out.append(Secret("putty", putty.splitlines()[2], putty, False))
    return out


def contexts(s: Secret) -> list[str]:
    """The secret's text embedded in prose, code, JSON (escaped, nested), shell, URLs, tool output."""
    t = s.text
    out = [
        t,
        f"Here is what I found:\n{t}\nLet me know if you need more.",
        orjson.dumps({"type": "tool_result", "content": t}).decode(),
        orjson.dumps({"text": orjson.dumps({"note": t}).decode()}).decode(),
        orjson.dumps({"type": "message", "content": "ok\n" + t + "\tdone"}).decode(),
        f"$ cat config.txt\n{t}\n$ echo done",
    ]
    if s.shaped:
        out += [
            f"I rotated the key {t} yesterday.",
            f'client = Client(api_key="{t}")',
            f"SOME_SETTING={t}",
            f"https://example.com/cb?x={t}&y=2",
            f"Error: invalid credentials ({t!r})",
            orjson.dumps({"a": {"b": [f"x\n{t}"]}}).decode(),
        ]
    return out


def split_points(text: str, secret: str) -> list[int]:
    """Where a stream could cut the text: inside the secret, and at the name/value seam."""
    i = text.find(secret)
    pts = {i + len(secret) // 2, i + 3, max(1, i - 1)}
    return sorted(p for p in pts if 0 < p < len(text))
