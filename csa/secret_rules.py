"""The secret rules as data: what csa's redactor (:mod:`csa.redact`) looks for.

Kept apart from the engine so that a maintainer can diff it against a newer
upstream and so that tests and ``csa session scrub`` can name the rule set they
ran (``RULESET_VERSION``). Every rule cites the upstream rule it was derived from
and the upstream version it was checked against; ``csa:`` marks csa's own rules.

Example::

    >>> from csa.secret_rules import TOKENS, UPSTREAM
    >>> next(r for r in TOKENS if r.id == "digitalocean-pat").keywords
    ('dop_v1_',)

Upstream versions checked against:

* gitleaks ``config/gitleaks.toml`` (and ``cmd/generate/config/rules/*.go`` for
  their test cases) at commit 009e025ad4106ab333aa0b9dc4f2a884390d134c.
* Yelp detect-secrets ``detect_secrets/plugins/*.py``: keyword.py at
  6cf2d66013b4575d6c56646b903e2934f92d279f, high_entropy_strings.py at
  8716e5b63ac85058135e41bd91be8e0ff1daef16, discord.py at
  fadc547e8e21874569adca3c709c7508538a197d, telegram_token.py at
  1f2553382bf10184779ec5b38bf5dfaefed8e426, azure_storage_key.py at
  13d4a7733db4af5a9c30a2b4cd7982a09007fe9f.

Rule format (``Token``): ``id`` (upstream id where there is one), ``kind`` (the
word in ``[REDACTED:<kind>]``), ``keywords`` (lower-case literals; at least one
occurs in every match, case-insensitively; ``{n}`` after a keyword means "followed
by at least n token characters", which the byte gate checks), ``pattern`` (a
Python regex; the ``secret`` group, or else the whole match, is replaced; token
boundaries are added by the engine) and ``source``.
"""

from __future__ import annotations

from typing import NamedTuple

RULESET_VERSION = "2026-12-03.3"
UPSTREAM = {
    "gitleaks": "gitleaks/gitleaks@009e025ad4106ab333aa0b9dc4f2a884390d134c",
    "detect-secrets": "Yelp/detect-secrets@6cf2d66013b4575d6c56646b903e2934f92d279f",
}


class Token(NamedTuple):
    id: str
    kind: str
    keywords: tuple[str, ...]
    pattern: str
    source: str


def _t(id: str, kind: str, keywords: str | tuple[str, ...], pattern: str, source: str = "") -> Token:
    words = tuple(keywords.split()) if isinstance(keywords, str) else keywords
    return Token(id, kind, words, pattern, source or f"gitleaks:{id}")


# Character classes used below (regex fragments).
AN = "A-Za-z0-9"
W = "A-Za-z0-9_"
HEX = "a-fA-F0-9"
B64 = "A-Za-z0-9+/"

# Provider tokens recognisable by shape alone. Keywords must be present in the
# token itself (the byte gate is built from them).
TOKENS: tuple[Token, ...] = (
    # -- AI providers --------------------------------------------------------
    _t("anthropic-api-key", "anthropic", "sk-ant-{16}", rf"sk-ant-(?:api|admin|oat|ort)\d\d-[{W}-]{{20,}}",
       "gitleaks:anthropic-api-key,anthropic-admin-api-key"),
    _t("openai-api-key", "openai", "sk-{20}", rf"sk-(?:(?:proj|svcacct|admin|or-v1|None)-)?[{W}-]{{20,}}",
       "gitleaks:openai-api-key; detect-secrets:openai.py"),
    _t("perplexity-api-key", "perplexity", "pplx-{16}", rf"pplx-[{AN}]{{40,}}"),
    _t("groq-api-key", "groq", "gsk_{16}", rf"gsk_[{AN}]{{40,}}", "csa:groq (gsk_ + 52)"),
    _t("xai-api-key", "xai", "xai-{16}", rf"xai-[{AN}]{{40,}}", "csa:xai (xai- + 80)"),
    _t("replicate-api-token", "replicate", "r8_{16}", rf"r8_[{AN}]{{30,}}", "csa:replicate"),
    _t("huggingface-access-token", "huggingface", "hf_{16}", rf"hf_[{AN}]{{30,}}"),
    _t("huggingface-organization-api-token", "huggingface", "api_org_{16}", rf"api_org_[{AN}]{{30,}}"),
    _t("langsmith-api-key", "langsmith", "lsv2_{16}", rf"lsv2_(?:pt|sk)_[{HEX}]{{32}}_[{HEX}]{{10}}", "csa:langsmith"),
    _t("pinecone-api-key", "pinecone", "pcsk_{16}", rf"pcsk_[{W}]{{40,}}", "csa:pinecone"),
    _t("fireworks-api-key", "fireworks", "fw_{16}", rf"fw_[{AN}]{{20,}}", "csa:fireworks"),
    _t("anyscale-api-key", "anyscale", "esecret_{16}", rf"esecret_[{AN}]{{20,}}", "csa:anyscale"),
    # -- source hosting, CI, packages -----------------------------------------
    _t("github-pat", "github", "ghp_{20} gho_{20} ghu_{20} ghs_{20} ghr_{20}", rf"gh[pousr]_[{AN}]{{36,255}}",
       "gitleaks:github-pat,github-oauth,github-app-token,github-refresh-token"),
    _t("github-fine-grained-pat", "github", "github_pat_{16}", rf"github_pat_[{W}]{{22,255}}"),
    _t("gitlab-pat", "gitlab", "glpat-{16}", rf"glpat-[{W}.-]{{20,300}}", "gitleaks:gitlab-pat,gitlab-pat-routable"),
    _t("gitlab-tokens", "gitlab",
       "gldt-{16} glrt-{16} glptt-{16} glcbt-{8} glft-{16} glimt-{16} glagent-{16} gloas-{16} glsoat-{16} glffct-{16}",
       rf"gl(?:dt|rt|ptt|cbt|ft|imt|agent|oas|soat|ffct)-[{W}.-]{{20,300}}",
       "gitleaks:gitlab-deploy-token,gitlab-runner-authentication-token,gitlab-runner-authentication-token-routable,gitlab-ptt,gitlab-cicd-job-token,"
       "gitlab-feed-token,gitlab-incoming-mail-token,gitlab-kubernetes-agent-token,gitlab-oauth-app-secret,"
       "gitlab-scim-token,gitlab-feature-flag-client-token"),
    _t("gitlab-rrt", "gitlab", "gr1348941{16}", rf"GR1348941[{W}-]{{20,}}"),
    _t("gitlab-session-cookie", "gitlab", "_gitlab_session={16}", rf"_gitlab_session=(?P<secret>[{AN}]{{32,}})"),
    _t("bitbucket-app-password", "bitbucket", "atbb{16}", rf"ATBB[{AN}]{{28,}}", "csa:bitbucket (ATBB)"),
    _t("npm-access-token", "npm", "npm_{16}", rf"npm_[{AN}]{{36}}"),
    _t("pypi-upload-token", "pypi", "pypi-ageichlwas5vcmc{16}", r"pypi-AgEIcHlwaS5vcmc[\w-]{50,}"),
    _t("rubygems-api-token", "rubygems", "rubygems_{16}", rf"rubygems_[{HEX}]{{48}}"),
    _t("clojars-api-token", "clojars", "clojars_{16}", rf"CLOJARS_[{AN}]{{60}}"),
    _t("docker-hub-pat", "docker", "dckr_pat_{16} dckr_oat_{16}", rf"dckr_(?:pat|oat)_[{W}-]{{20,}}", "csa:docker hub"),
    _t("buildkite-token", "buildkite", "bkua_{16}", rf"bkua_[{HEX}]{{40}}", "csa:buildkite"),
    _t("circleci-pat", "circleci", "ccipat_{16}", rf"CCIPAT_[{W}]{{20,}}", "csa:circleci"),
    _t("sonarqube-token", "sonar", "squ_{16} sqp_{16} sqa_{16}", rf"sq[upa]_[{HEX}]{{40}}", "csa:sonarqube"),
    _t("sourcegraph-access-token", "sourcegraph", "sgp_{16}", rf"sgp_(?:[{HEX}]{{16}}_|local_)?[{HEX}]{{40}}"),
    _t("snyk-token", "snyk", "snyk_{16}", rf"snyk_(?:uat|sat)\.[{W}.-]{{20,}}", "csa:snyk"),
    _t("jfrog-api-key", "jfrog", "akcp{16}", rf"AKCp[{AN}]{{60,}}", "gitleaks:artifactory-api-key"),
    _t("jfrog-reference-token", "jfrog", "cmvmd{16}", rf"cmVmd[{AN}]{{59}}", "gitleaks:artifactory-reference-token"),
    _t("octopus-deploy-api-key", "octopus", "api-{16}", r"API-[A-Z0-9]{26}"),
    _t("prefect-api-token", "prefect", "pnu_{16}", rf"pnu_[{AN}]{{36}}"),
    _t("readme-api-token", "readme", "rdme_{16}", rf"rdme_[{AN}]{{70}}"),
    _t("postman-api-token", "postman", "pmak-{16}", rf"PMAK-[{HEX}]{{24}}-[{HEX}]{{34}}"),
    _t("linear-api-key", "linear", "lin_api_{16}", rf"lin_api_[{AN}]{{40}}"),
    _t("notion-api-token", "notion", "ntn_{16}", rf"ntn_[{AN}]{{40,}}"),
    _t("notion-integration-secret", "notion", "secret_{30}", rf"secret_[{AN}]{{40,50}}", "csa:notion (secret_ + 43)"),
    _t("figma-pat", "figma", "figd_{16}", rf"figd_[{W}-]{{30,}}", "csa:figma"),
    _t("atlassian-api-token", "atlassian", "atatt3{16}", rf"ATATT3[{W}=-]{{100,}}"),
    _t("asana-pat", "asana", "2/{16} 1/{16}", r"[12]/\d{10,20}(?::|/)[a-f0-9]{32}", "csa:asana pat"),
    _t("airtable-pat", "airtable", "", rf"pat[{AN}]{{14}}\.[{HEX}]{{64}}", "csa:airtable pat"),
    _t("clickup-pat", "clickup", "pk_{16}", rf"pk_\d{{6,10}}_[{AN}]{{32}}", "csa:clickup"),
    # -- cloud, infrastructure ------------------------------------------------
    _t("aws-access-token", "aws", "akia{16} asia{16} abia{16} acca{16} a3t{16}",
       r"(?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}"),
    _t("gcp-api-key", "google", "aiza{16}", r"AIza[\w-]{35}"),
    _t("google-oauth-client-secret", "google", "gocspx-{16}", r"GOCSPX-[\w-]{28}", "csa:google oauth client secret"),
    _t("google-oauth-access-token", "google", "ya29.{16}", r"ya29\.[\w-]{30,}", "csa:google oauth access token"),
    _t("google-oauth-refresh-token", "google", "1//{16}", r"1//0[\w-]{40,}", "csa:google oauth refresh token"),
    _t("azure-ad-client-secret", "azure", "q~{16}", r"[\w~.]{3}\dQ~[\w~.-]{31,34}"),
    _t("alibaba-access-key-id", "alibaba", "ltai{16}", rf"LTAI[{AN}]{{20}}"),
    _t("tencent-secret-id", "tencent", "akid{16}", rf"AKID[{AN}]{{32}}", "csa:tencent cloud"),
    _t("digitalocean-tokens", "digitalocean", "dop_v1_{16} doo_v1_{16} dor_v1_{16}", rf"do[opr]_v1_[{HEX}]{{64}}",
       "gitleaks:digitalocean-pat,digitalocean-access-token,digitalocean-refresh-token"),
    _t("heroku-api-key-v2", "heroku", "hrku-{16}", r"HRKU-[\w-]{58,}"),
    _t("flyio-access-token", "flyio", "fo1_{16} fm1a_{16} fm1r_{16} fm2_{16}",
       rf"(?:fo1_[\w-]{{43}}|fm1[ar]_[{B64}]{{100,}}={{0,3}}|fm2_[{B64}]{{100,}}={{0,3}})"),
    _t("vercel-token", "vercel", "vercel_{16}", rf"vercel_[{W}]{{20,}}", "csa:vercel"),
    _t("netlify-token", "netlify", "nfp_{16}", rf"nfp_[{AN}]{{30,}}", "csa:netlify"),
    _t("render-api-key", "render", "rnd_{16}", rf"rnd_[{AN}]{{28,}}", "csa:render"),
    _t("supabase-token", "supabase", "sbp_{16} sb_secret_{16}", rf"(?:sbp_[{HEX}]{{40}}|sb_secret_[{W}-]{{20,}})",
       "csa:supabase"),
    _t("cloudflare-origin-ca-key", "cloudflare", "v1.0-{16}", rf"v1\.0-[{HEX}]{{24}}-[{HEX}]{{146}}"),
    _t("hashicorp-tf-api-token", "terraform", "atlasv1.{16}", r"[A-Za-z0-9]{14}\.atlasv1\.[\w=-]{60,70}"),
    _t("vault-token", "vault", "hvs.{16} hvb.{16} hvr.{16}", r"hv[sbr]\.[\w-]{24,300}",
       "gitleaks:vault-service-token,vault-batch-token"),
    _t("doppler-api-token", "doppler", "dp.pt.{16} dp.st.{16} dp.ct.{16} dp.scim.{16}",
       rf"dp\.(?:pt|st|ct|sa|scim|audit)\.[{AN}]{{40,}}"),
    _t("pulumi-api-token", "pulumi", "pul-{16}", rf"pul-[{HEX}]{{40}}"),
    _t("planetscale-token", "planetscale", "pscale_tkn_{16} pscale_oauth_{16} pscale_pw_{16}",
       r"pscale_(?:tkn|oauth|pw)_[\w=.-]{32,64}",
       "gitleaks:planetscale-api-token,planetscale-oauth-token,planetscale-password"),
    _t("scalingo-api-token", "scalingo", "tk-us-{16}", r"tk-us-[\w-]{48}"),
    _t("tailscale-key", "tailscale", "tskey-{16}", rf"tskey-(?:[a-z]+-)?[{AN}]{{6,}}-[{AN}]{{10,}}", "csa:tailscale"),
    _t("openshift-user-token", "openshift", "sha256~{16}", r"sha256~[\w-]{43}"),
    _t("infracost-api-token", "infracost", "ico-{16}", rf"ico-[{AN}]{{32}}"),
    _t("dynatrace-api-token", "dynatrace", "dt0c01.{16}", rf"dt0c01\.[{AN}]{{24}}\.[{AN}]{{64}}"),
    _t("age-secret-key", "age", "age-secret-key-1{16}", r"AGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58}"),
    _t("1password-service-account-token", "1password", "ops_eyj", rf"ops_eyJ[{B64}]{{100,}}={{0,3}}"),
    _t("1password-secret-key", "1password", "a3-{6}", r"A3-[A-Z0-9]{6}-(?:[A-Z0-9]{11}|[A-Z0-9]{6}-[A-Z0-9]{5})(?:-[A-Z0-9]{5}){3}"),
    _t("grafana-tokens", "grafana", "glc_ glsa_{16} eyjrijoi{16}",
       rf"(?:glc_[{B64}]{{32,400}}={{0,3}}|glsa_[{AN}]{{32}}_[{HEX}]{{8}}|eyJrIjoi[{AN}]{{70,400}}={{0,3}})",
       "gitleaks:grafana-cloud-api-token,grafana-service-account-token,grafana-api-key"),
    _t("new-relic-keys", "newrelic", "nrak-{16} nrii-{16} nrjs-{16}",
       r"(?:NRAK-[A-Z0-9]{27}|NRII-[\w-]{32}|NRJS-[a-f0-9]{19})",
       "gitleaks:new-relic-user-api-key,new-relic-insert-key,new-relic-browser-api-token"),
    _t("sentry-tokens", "sentry", "sntryu_{16} sntrys_{16}", rf"(?:sntryu_[{HEX}]{{64}}|sntrys_eyJ[{B64}=_]{{60,}})",
       "gitleaks:sentry-user-token,sentry-org-token"),
    _t("databricks-api-token", "databricks", "dapi{16}", rf"dapi[{HEX}]{{32}}(?:-\d)?"),
    _t("clickhouse-cloud-api-secret-key", "clickhouse", "4b1d{16}", rf"4b1d[{AN}]{{38}}"),
    _t("harness-api-key", "harness", "pat.{16} sat.{16}", r"(?:pat|sat)\.[\w-]{22}\.[A-Za-z0-9]{24}\.[A-Za-z0-9]{20}"),
    _t("defined-networking-api-token", "definednet", "dnkey-{16}", r"dnkey-[\w=-]{26}-[\w=-]{52}"),
    _t("frameio-api-token", "frameio", "fio-u-{16}", r"fio-u-[\w=-]{64}"),
    _t("maxmind-license-key", "maxmind", "_mmk", rf"[{AN}]{{6}}_[{AN}]{{29}}_mmk"),
    _t("settlemint-token", "settlemint", "sm_aat_{16} sm_pat_{16} sm_sat_{16}", rf"sm_[aps]at_[{AN}]{{16}}",
       "gitleaks:settlemint-application-access-token,settlemint-personal-access-token,settlemint-service-access-token"),
    # -- payments, commerce ---------------------------------------------------
    _t("stripe-access-token", "stripe", "sk_live_{8} sk_test_{8} sk_prod_{8} rk_live_{8} rk_test_{8} rk_prod_{8}",
       rf"[sr]k_(?:live|test|prod)_[{AN}]{{10,}}"),
    _t("stripe-webhook-secret", "stripe", "whsec_{16}", rf"whsec_[{AN}+/=]{{24,}}", "csa:stripe webhook secret"),
    _t("shopify-token", "shopify", "shpat_{16} shpca_{16} shppa_{16} shpss_{16}", rf"shp(?:at|ca|pa|ss)_[{HEX}]{{32}}",
       "gitleaks:shopify-access-token,shopify-custom-access-token,shopify-private-app-access-token,shopify-shared-secret"),
    _t("square-token", "square", "sq0atp-{16} sq0csp-{16} eaaa{16}", r"(?:sq0atp-[\w-]{22,60}|sq0csp-[\w-]{43}|EAAA[\w-]{60})",
       "gitleaks:square-access-token; detect-secrets:square_oauth.py"),
    _t("shippo-api-token", "shippo", "shippo_live_{16} shippo_test_{16}", rf"shippo_(?:live|test)_[{HEX}]{{40}}"),
    _t("duffel-api-token", "duffel", "duffel_live_{16} duffel_test_{16}", r"duffel_(?:test|live)_[\w=-]{43}"),
    _t("easypost-api-token", "easypost", "ezak{16} eztk{16}", rf"EZ[AT]K[{AN}]{{54}}",
       "gitleaks:easypost-api-token,easypost-test-api-token"),
    _t("flutterwave-keys", "flutterwave", "flwseck_test-{8} flwseck-{8} flwpubk_test-{8}",
       rf"FLW(?:SECK|PUBK)(?:_TEST)?-[{HEX}]{{12,32}}(?:-X)?",
       "gitleaks:flutterwave-secret-key,flutterwave-encryption-key,flutterwave-public-key"),
    _t("razorpay-key", "razorpay", "rzp_live_{8} rzp_test_{8}", rf"rzp_(?:live|test)_[{AN}]{{14,}}", "csa:razorpay"),
    _t("braintree-access-token", "braintree", "access_token$production${8} access_token$sandbox${8}",
       r"access_token\$(?:production|sandbox)\$[a-z0-9]{16}\$[a-f0-9]{32}", "csa:braintree"),
    _t("facebook-page-access-token", "facebook", "eaam{16} eaac{16}", rf"EAA[MC][{AN}]{{100,}}"),
    # -- messaging, mail, SaaS --------------------------------------------------
    _t("slack-tokens", "slack", "xoxb-{8} xoxp-{8} xoxa-{8} xoxr-{8} xoxo-{8} xoxs-{8} xoxe-{8} xoxe.xox{8}",
       rf"xox(?:e\.xox)?[abposre]-[{AN}-]{{10,}}",
       "gitleaks:slack-bot-token,slack-user-token,slack-legacy-token,slack-legacy-bot-token,"
       "slack-legacy-workspace-token,slack-config-access-token,slack-config-refresh-token"),
    _t("slack-app-token", "slack", "xapp-{8}", rf"xapp-\d-[{AN}-]{{10,}}"),
    _t("slack-webhook-url", "slack-webhook", "hooks.slack.com/{8}",
       r"(?<=hooks\.slack\.com/)(?:services|workflows|triggers)/[\w+/-]{16,}"),
    _t("discord-webhook", "discord", "discord.com/api/webhooks/{8} discordapp.com/api/webhooks/{8}",
       r"(?<=/api/webhooks/)\d{15,20}/[\w-]{40,}", "csa:discord webhook url"),
    _t("discord-bot-token", "discord", "", r"[MNO][\w-]{23,25}\.[\w-]{6}\.[\w-]{27,38}", "detect-secrets:discord.py"),
    _t("telegram-bot-token", "telegram", "", r":AA(?<=[0-9]{8}:AA)(?P<secret>[\w-]{33})", "detect-secrets:telegram_token.py; gitleaks:telegram-bot-api-token"),
    _t("microsoft-teams-webhook", "teams-webhook", "webhook.office.com/{8} webhookb2/{8}",
       r"(?<=webhookb2/)[\w@/-]{40,}", "gitleaks:microsoft-teams-webhook"),
    _t("twilio-api-key", "twilio", "sk{32}", rf"SK[{HEX}]{{32}}"),
    _t("twilio-account-sid", "twilio", "ac{32}", r"AC[a-f0-9]{32}(?::[a-fA-F0-9]{32})?", "detect-secrets:twilio.py"),
    _t("sendgrid-api-token", "sendgrid", "sg.{16}", r"SG\.[\w-]{16,32}\.[\w-]{16,64}"),
    _t("sendinblue-api-token", "sendinblue", "xkeysib-{16} xsmtpsib-{16}", rf"xk?(?:keysib|smtpsib)-[{HEX}]{{64}}-[{AN}]{{16}}"),
    _t("mailgun-private-api-token", "mailgun", "key-{32}", r"key-[a-f0-9]{32}"),
    _t("mailchimp-api-key", "mailchimp", "-us{1}", r"[a-f0-9]{32}-us\d{1,2}", "detect-secrets:mailchimp.py"),
    _t("postmark-server-token", "postmark", "x-postmark-server-token", r"X-Postmark-Server-Token: (?P<secret>[\w-]{36})",
       "csa:postmark header"),
    _t("resend-api-key", "resend", "re_{16}", rf"re_[{AN}]{{8}}_[{W}]{{24}}", "csa:resend"),
    _t("typeform-api-token", "typeform", "tfp_{16}", r"tfp_[\w=.-]{59}"),
    _t("intra42-client-secret", "intra42", "s-s4t2ud-{16} s-s4t2af-{16}", rf"s-s4t2(?:ud|af)-[{HEX}]{{64}}"),
    _t("adobe-client-secret", "adobe", "p8e-{16}", rf"p8e-[{AN}]{{32}}"),
    _t("contentful-pat", "contentful", "cfpat-{16}", rf"CFPAT-[{W}-]{{40,}}", "csa:contentful"),
    _t("dropbox-short-lived-api-token", "dropbox", "sl.{40}", r"sl\.[\w=-]{130,}", "gitleaks:dropbox-short-lived-api-token"),
    _t("mapbox-secret-token", "mapbox", "sk.eyj{16}", rf"sk\.eyJ[{W}-]{{20,}}\.[{W}-]{{20,}}", "csa:mapbox secret"),
    _t("okta-api-token", "okta", "ssws {16}", r"(?<=SSWS )00[\w=-]{40}", "gitleaks:okta-access-token"),
    # -- structure rather than provider ----------------------------------------
    # (the header at most 1,024 characters: each "eyJ" of a long word is a start, and an
    # unbounded header made a line of them quadratic; real headers are under 300)
    _t("jwt", "jwt", "eyj{8}", r"eyJ[\w-]{5,1024}\.eyJ[\w-]{5,}\.[\w+/=-]*"),
    _t("aws-session-token", "aws", "fwogzxivyxdz iqojb3jpz2lu", rf"(?:FwoGZXIvYXdz|IQoJb3JpZ2lu)[{B64}=]{{100,}}",
       "csa:aws session token"),
    _t("azure-storage-account-key", "azure", "accountkey={16}", rf"(?i:AccountKey)=(?P<secret>[{B64}]{{86}}==)",
       "detect-secrets:azure_storage_key.py"),
    _t("azure-sas-signature", "azure", "sig={16}", r"(?<=[?&;]sig=)[\w%+/=-]{30,}", "csa:azure SAS sig="),
    _t("jwt-base64", "jwt", "zxlk{16}", r"ZXlK[A-Za-z0-9/\\_+-]{40,}={0,2}"),
    _t("authress-service-client-access-key", "authress", "scauth_{5} authress_{5} .acc_{10} .acc-{10}",
       r"(?i:sc|ext|scauth|authress)_[A-Za-z0-9]{5,30}\.[A-Za-z0-9]{4,6}\.acc[_-][A-Za-z0-9-]{10,32}\.[\w+/=-]{30,120}"),
    _t("sidekiq-secret", "sidekiq", "contribsys__com",
       r"(?i:BUNDLE_(?:ENTERPRISE|GEMS)__CONTRIBSYS__COM)[^\n]{0,8}?(?P<secret>[a-f0-9]{8}:[a-f0-9]{8})",
       "gitleaks:sidekiq-secret (sidekiq-sensitive-url: csa's URL credentials)"),
)


# Words that make a name (key, variable, flag, header, element) secret on its
# own. Base: detect-secrets keyword.py DENYLIST and gitleaks generic-api-key's
# keywords; plurals that are usage counters ("tokens") are deliberately absent.
SECRET_WORDS = frozenset({
    "password", "passwd", "passphrase", "passcode", "secret", "secrets", "token",
    "apikey", "credential", "credentials", "creds", "cred", "cookie", "cookies",
    "authorization", "auth", "privatekey", "privkey", "secretkey", "accesskey",
    "authkey", "keypass", "storepass", "srcstorepass", "deststorepass", "dsn",
    "contrasena", "contraseña", "passwort", "motdepasse", "sessionid", "sessid",
    "phpsessid", "jsessionid", "xsrf", "pwd", "pw",
})
# Compound words ending in these ("ACCESSTOKEN", "dbpassword", "GITHUBTOKEN").
SECRET_SUFFIXES = ("token", "secret", "password", "passwd", "apikey", "privatekey", "sessionid")

# "<qualifier> key" is a secret ("API_KEY", "privateKey", "x-api-key"); a bare
# "key" is not. Provider names from gitleaks' keyword rules are qualifiers too
# ("ADAFRUIT_IO_KEY"): gitleaks adafruit-api-key, airtable-api-key, algolia-api-key...
KEY_QUALIFIERS = frozenset({
    "api", "private", "priv", "secret", "access", "client", "auth", "encryption",
    "encrypt", "decrypt", "signing", "sign", "master", "session", "license",
    "consumer", "subscription", "app", "application", "account", "service", "deploy",
    "ssh", "gpg", "pgp", "webhook", "admin", "root", "hmac", "jwt", "aes", "rsa",
    "shared", "db", "database", "write", "storage", "server", "ingest", "live",
    "openai", "anthropic", "claude", "gemini", "google", "groq", "mistral", "cohere",
    "deepseek", "xai", "perplexity", "openrouter", "together", "fireworks", "azure",
    "aws", "gcp", "stripe", "twilio", "sendgrid", "mailgun", "slack", "github", "gitlab",
    "huggingface", "hf", "npm", "pypi", "sentry", "datadog", "dd", "algolia",
    # gitleaks provider keyword rules (id prefix = keyword)
    "adafruit", "adobe", "airtable", "alibaba", "asana", "atlassian", "beamer",
    "bitbucket", "bittrex", "meraki", "cloudflare", "codecov", "coinbase", "confluent",
    "contentful", "discord", "droneci", "dropbox", "etsy", "facebook", "fastly",
    "finicity", "finnhub", "flickr", "freshbooks", "gitter", "gocardless", "heroku",
    "hubspot", "intercom", "jfrog", "artifactory", "kraken", "kucoin", "launchdarkly",
    "linear", "linkedin", "lob", "mailchimp", "mapbox", "mattermost", "messagebird",
    "netlify", "newrelic", "nytimes", "okta", "plaid", "rapidapi", "sendbird",
    "squarespace", "sumo", "sumologic", "telegram", "travis", "twitch", "twitter",
    "typeform", "yandex", "zendesk", "binance", "pusher", "segment", "mixpanel",
    "amplitude", "firebase", "supabase", "vercel", "linode", "hetzner", "vultr",
    "pagerduty", "opsgenie", "circleci", "rollbar", "bugsnag", "postmark", "mailjet",
    "shopify", "paypal", "braintree", "razorpay", "paystack", "mollie", "adyen",
    "pinecone", "weaviate", "qdrant", "wandb", "replicate", "elevenlabs", "assemblyai",
    "deepgram", "voyage", "jina", "tavily", "serpapi", "brave", "exa", "firecrawl",
})

# After the secret word, these turn the name into metadata about the secret
# ("token_count", "apiKeySource", "password_file", "aws_access_key_id").
BENIGN_TRAILERS = frozenset({
    "id", "ids", "name", "names", "source", "src", "type", "types", "kind", "mode",
    "method", "methods", "provider", "providers", "url", "urls", "uri", "endpoint",
    "path", "paths", "file", "files", "filename", "dir", "env", "var", "vars", "field",
    "fields", "ref", "refs", "count", "counts", "counter", "size", "length", "len",
    "limit", "limits", "max", "min", "usage", "used", "enabled", "required",
    "present", "exists", "status", "expires", "expiry", "expiration", "expired", "ttl",
    "scope", "scopes", "format", "version", "hint", "label", "policy", "store",
    "manager", "arn", "location", "helper", "command", "cmd", "option", "options",
    "flag", "flags", "strategy", "index", "idx", "budget", "rate", "ratio", "prefix",
    "suffix", "input", "prompt", "placeholder", "description", "desc", "help", "doc",
    "docs", "regex", "pattern", "rules", "strength", "validator", "validation",
    "timeout", "interval", "age", "domain", "secure", "samesite", "httponly",
    "lifetime", "duration", "estimate", "estimator", "stats", "metrics", "cost",
    "price", "tier", "error", "errors", "exception", "class", "schema", "spec",
    "template", "bytes", "bits", "algorithm", "alg", "reset", "changed", "updated",
    "created", "at", "stream", "streams", "parser", "reader", "writer", "hash",
    "hashed", "digest", "salt", "rounds", "complexity",
})
# A leading verb or quantifier names an action or a boolean, not a secret
# ("no-auth", "max_token", "require_password", "has_token").
BENIGN_LEADERS = frozenset({
    "no", "skip", "disable", "disabled", "enable", "enabled", "use", "with", "without",
    "require", "requires", "required", "allow", "has", "have", "is", "show", "print",
    "hide", "mask", "redact", "redacted", "max", "min", "num", "total", "should",
    "can", "need", "needs", "validate", "verify", "check", "count", "n", "get", "csrf",
})
# Values that are not secrets: empties, nulls, types, placeholders (after
# detect-secrets' KeywordDetector FALSE_POSITIVES and gitleaks' global allowlist).
PLACEHOLDERS = frozenset({
    "none", "null", "nil", "true", "false", "undefined", "undef", "empty", "str",
    "string", "int", "bytes", "bool", "any", "optional", "secretstr", "text", "dict",
    "list", "test", "todo", "dummy", "redacted", "hidden", "masked", "required",
    "prompt", "not", "default", "unset", "the", "a", "an", "is", "are", "was", "to",
    "for", "of", "in", "on", "and", "or", "be", "this", "that", "it", "with", "from",
    "see", "set", "use", "your", "my", "our", "if", "when", "must", "should", "will",
    "can", "may", "get", "xxx", "...", "***", "changeme", "password", "secret",
})
# Header-like names whose value runs to the end of the line or quoted string
# (any scheme: "Authorization: AWS4-HMAC-SHA256 Credential=..., Signature=...").
WHOLE_VALUE_NAMES = frozenset({
    "authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key",
    "x-auth-token", "x-amz-security-token", "www-authenticate",
})
# Auth schemes skipped before a credential ("Bearer <token>").
AUTH_SCHEMES = (
    "bearer", "basic", "token", "digest", "bot", "negotiate", "apikey", "api-key",
    "sso-key", "hmac", "ssws", "genieKey", "key", "oauth", "dsn",
)

# Command lines that take a password as a flag (csa's own rules, for the class
# "password on the command line"): (keywords, command, flag regex before the value).
# "-pSECRET" glued (mysql family), "-p SECRET" (sshpass, docker login), "-a"
# (redis-cli), "-w" (ldap*), "-P" (sqlcmd, bcp), "--password[=| ]" (anything).
COMMAND_FLAGS: tuple[tuple[str, str, str], ...] = (
    # (keywords, command regex, flag regex with the secret group). A command's open
    # repetitions are bounded: each occurrence on a line starts a match, and an unbounded
    # run ("mariadb-mariadb-...") made a line of them take minutes (csa.redact checks).
    ("mysql mariadb", r"(?:mysql\w{0,32}|mariadb[\w-]{0,32})", r"(?<=\s)-p(?P<secret>[^\s'\"-][^\s'\"]*)"),
    ("sshpass", r"sshpass", r"(?<=\s)-p\s+(?P<secret>[^\s-]\S*)"),
    ("docker|login podman|login nerdctl|login helm|registry|login buildah|login skopeo|login oras|login",
     r"(?:docker|podman|nerdctl|helm|buildah|skopeo|oras)\s+(?:\w+\s+)?login",
     r"(?<=\s)(?:-p|--password)[\s=]+(?P<secret>[^\s-]\S*)"),
    ("redis-cli keydb-cli", r"(?:redis|keydb)-cli", r"(?<=\s)-a\s+(?P<secret>[^\s-]\S*)"),
    ("ldapsearch ldapmodify ldapadd ldapdelete ldappasswd ldapwhoami", r"ldap\w{1,32}", r"(?<=\s)-w\s+(?P<secret>[^\s-]\S*)"),
    ("sqlcmd bcp osql", r"(?:sqlcmd|bcp|osql)", r"(?<=\s)-P\s*(?P<secret>[^\s-]\S*)"),
    ("smbclient rpcclient", r"(?:smbclient|rpcclient)", r"(?<=\s)(?:-U|--user)[ =]?[^\s%]+%(?P<secret>\S+)"),
    ("openssl -pass", r"openssl", r"-pass(?:in|out)?\s+(?:pass|env):?(?P<secret>\S+)"),
    ("curl wget", r"(?:curl|wget)",
     r"(?<=\s)(?:-u|--user|-U|--proxy-user|--http-user)[ =]?['\"]?[^\s:'\"]*:(?P<secret>[^\s'\"]+)"),
    ("htpasswd", r"htpasswd", r"-b\w*\s+\S+\s+\S+\s+(?P<secret>\S+)"),
    ("keytool jarsigner", r"(?:keytool|jarsigner)", r"-(?:store|key|src|dest|new)*pass\w*\s+(?P<secret>\S+)"),
)

# csa's own rules for credential *shapes* (issue 13's held-out classes), in the
# same format. Keywords gate them; the pattern runs on text that has one.
_SECRET_CHARS = r"[^\s'\"`;,&<>\\]"
SHAPES: tuple[Token, ...] = (
    _t("private-key", "private-key", ("private key-----", "private key block-----"),
       r"-----BEGIN[ A-Z0-9_-]{0,100}PRIVATE KEY(?: BLOCK)?-----.*?(?:-----END[ A-Z0-9_-]{0,100}"
       r"PRIVATE KEY(?: BLOCK)?-----|\Z)", "gitleaks:private-key; detect-secrets:private_key.py"),
    _t("private-key-base64", "private-key", "ls0tls1crudjti{16}", r"LS0tLS1CRUdJTi[A-Za-z0-9+/=]{40,}",
       "csa:base64 of a PEM block (kubeconfig client-key-data)"),
    _t("putty-private-key", "private-key", "private-lines:", r"(?s)Private-Lines:.*?(?:Private-MAC: *[0-9a-fA-F]+|\Z)",
       "csa:PuTTY .ppk"),
    _t("netrc-password", "secret-value", ("machine ",),
       r"(?:(?<=\s)|^|(?<=\\[nt]))(?:password|passwd|account)\s+(?P<secret>[^\s\\]+)", "csa:.netrc"),
    _t("pgpass-line", "secret-value", "pgpass",
       r"(?m)(?:^|(?<=\\n))[^\s:\\]+:(?:\d+|\*):[^\s:\\]+:[^\s:\\]+:(?P<secret>[^\s\\]+)", "csa:.pgpass"),
    _t("sql-password", "secret-value", ("identified by '", 'identified by "', "password '", 'password "', "password('", "password ('"),
       r"(?i)\b(?:identified\s+(?:with\s+\w+\s+)?by(?:\s+password)?|password)\s*(?:\(\s*)?(?P<q>\\?['\"])(?P<secret>[^'\"\\]+)(?P=q)",
       "csa:SQL CREATE/ALTER USER ... IDENTIFIED BY / PASSWORD '...'"),
    _t("session-cookie", "secret-value", ("sessionid={16}", "phpsessid={16}", "jsessionid={16}", "_session={16}", "connect.sid={16}", "sid={16}",
        "sess={16}", "session={16}", "sess_id={16}", "sess-id={16}", "sess.id={16}", "session_id={16}",
        "session-id={16}", "session.id={16}"),
       rf"(?i)(?<![\w.-])(?:[\w.-]*sess(?:ion)?(?:[_.-]?id)?|connect\.sid|sid)=(?P<secret>{_SECRET_CHARS}{{16,}})",
       "csa:session cookies (Cookie/Set-Cookie, curl -b, cookie jars)"),
    _t("url-secret-param", "secret-value",
       "?key= &key= &sig= ?sig= ?signature= &signature= x-amz-signature= x-goog-signature= x-amz-security-token= "
       "x-amz-credential= apikey= api-key= access_token= id_token= refresh_token= ?code= &code=",
       r"(?i)(?<=[?&;])(?:key|sig|signature|x-amz-signature|x-goog-signature|x-amz-security-token|x-amz-credential"
       r"|code|apikey|api-key|access_token|id_token|refresh_token)=(?P<secret>[^&#\s\"'\\<>]{8,})",
       "csa:secret-named URL query parameters"),
    _t("kubernetes-secret-data", "secret-value", ("kind: secret", 'kind: "secret"', "kind: 'secret'"),
       r"(?m)(?:^|(?<=\\n))[ \t]+[\w.-]+:[ \t]*[\"']?(?P<secret>[A-Za-z0-9+/]{12,}={0,3})[\"']?[ \t]*(?=$|\\n|\r)",
       "gitleaks:kubernetes-secret-yaml (every data entry of a kind: Secret document)"),
)

# Anchorless kinds: a random-looking token (csa.redact_entropy.looks_random) close
# after one of these words is a secret. NEAR_WORDS: secret words (gitleaks
# generic-api-key keywords; detect-secrets keyword.py and high_entropy_strings.py).
NEAR_WORDS = ("token", "key", "secret", "password", "passwd", "passphrase", "pass", "pwd",
              "cred", "auth", "bearer", "access", "private", "license")
# Provider names from gitleaks' keyword rules ("<provider>... = <value>"): the
# rule ids each word stands for, checked against the gitleaks commit in UPSTREAM.
PROVIDER_WORDS: dict[str, str] = {
    "adafruit": "adafruit-api-key", "adobe": "adobe-client-id", "airtable": "airtable-api-key",
    "algolia": "algolia-api-key", "alibaba": "alibaba-secret-key", "asana": "asana-client-id,asana-client-secret",
    "atlassian": "atlassian-api-token", "confluence": "atlassian-api-token", "jira": "atlassian-api-token",
    "beamer": "beamer-api-token", "bitbucket": "bitbucket-client-id,bitbucket-client-secret",
    "bittrex": "bittrex-access-key,bittrex-secret-key", "meraki": "cisco-meraki-api-key",
    "cloudflare": "cloudflare-api-key,cloudflare-global-api-key", "codecov": "codecov-access-token",
    "cohere": "cohere-api-token", "co_api_key": "cohere-api-token", "coinbase": "coinbase-access-token",
    "confluent": "confluent-access-token,confluent-secret-key", "contentful": "contentful-delivery-api-token",
    "datadog": "datadog-access-token", "discord": "discord-api-token,discord-client-id,discord-client-secret",
    "droneci": "droneci-access-token", "dropbox": "dropbox-api-token,dropbox-long-lived-api-token",
    "etsy": "etsy-access-token", "facebook": "facebook-access-token,facebook-secret", "fastly": "fastly-api-token",
    "finicity": "finicity-api-token,finicity-client-secret", "finnhub": "finnhub-access-token",
    "flickr": "flickr-access-token", "freemius": "freemius-secret-key", "freshbooks": "freshbooks-access-token",
    "gitter": "gitter-access-token", "gocardless": "gocardless-api-token", "heroku": "heroku-api-key",
    "hubspot": "hubspot-api-key", "intercom": "intercom-api-key", "jfrog": "jfrog-identity-token",
    "artifactory": "jfrog-identity-token", "bintray": "jfrog-identity-token", "kraken": "kraken-access-token",
    "kucoin": "kucoin-access-token,kucoin-secret-key", "launchdarkly": "launchdarkly-access-token",
    "linear": "linear-client-secret", "linkedin": "linkedin-client-id,linkedin-client-secret",
    "linked_in": "linkedin-client-id", "lob": "lob-api-key,lob-pub-api-key",
    "mailgun": "mailgun-pub-key,mailgun-signing-key", "mapbox": "mapbox-api-token",
    "mattermost": "mattermost-access-token", "messagebird": "messagebird-api-token,messagebird-client-id",
    "message_bird": "messagebird-api-token", "netlify": "netlify-access-token", "newrelic": "new-relic-user-api-id",
    "new_relic": "new-relic-user-api-id", "nytimes": "nytimes-access-token", "plaid": "plaid-api-token,plaid-client-id,plaid-secret-key",
    "privateai": "privateai-api-token", "private_ai": "privateai-api-token", "rapidapi": "rapidapi-access-token",
    "sendbird": "sendbird-access-id,sendbird-access-token", "sentry": "sentry-access-token", "snyk": "snyk-api-token",
    "sonar": "sonar-api-token", "squarespace": "squarespace-access-token", "sumo": "sumologic-access-id,sumologic-access-token",
    "telegr": "telegram-bot-api-token", "travis": "travisci-access-token", "twitch": "twitch-api-token",
    "twitter": "twitter-access-secret,twitter-access-token,twitter-api-key,twitter-api-secret,twitter-bearer-token",
    "yandex": "yandex-access-token,yandex-api-key,yandex-aws-access-token", "zendesk": "zendesk-secret-key",
}
# More provider names, counted only with an operator ("stripe = <token>", "TWILIO: <token>",
# {"okta": "<token>"}): in the byte gate's anchor tries (as PROVIDER_WORDS are, for the
# prose forms) each name costs time on every line, and their prose forms come with a
# secret word ("my stripe key is ...") or a prefix. Rule ids as above.
ASSIGNED_PROVIDER_WORDS: dict[str, str] = {
    # the providers of gitleaks' other rules too: a bare "<provider> = <token>" carries no
    # prefix when the key is an older or secondary kind (a Twilio auth token, an Okta value
    # without its SSWS scheme). Not the forges, registries and model vendors (github, npm,
    # anthropic, openai...): their tokens all have prefixes, and their names stand before
    # commit hashes, ids and model names in every tool's output.
    "clickhouse": "clickhouse-cloud-api-secret-key",
    "databricks": "databricks-api-token", "digitalocean": "digitalocean-access-token",
    "doppler": "doppler-api-token", "dynatrace": "dynatrace-api-token", "easypost": "easypost-api-token",
    "flutterwave": "flutterwave-secret-key", "grafana": "grafana-api-key", "harness": "harness-api-key",
    "infracost": "infracost-api-token", "mailchimp": "mailchimp-api-key", "maxmind": "maxmind-license-key",
    "okta": "okta-access-token", "perplexity": "perplexity-api-key",
    "planetscale": "planetscale-api-token", "prefect": "prefect-api-token", "pulumi": "pulumi-api-token",
    "rubygems": "rubygems-api-token", "scalingo": "scalingo-api-token", "sendgrid": "sendgrid-api-token",
    "sendinblue": "sendinblue-api-token", "brevo": "sendinblue-api-token",
    "sourcegraph": "sourcegraph-access-token", "square": "square-access-token",
    "stripe": "stripe-access-token", "twilio": "twilio-api-key", "typeform": "typeform-api-token",
    # not in gitleaks: widely used services whose keys are bare hex or alphanumerics
    "pagerduty": "csa", "circleci": "csa", "rollbar": "csa", "bugsnag": "csa", "mixpanel": "csa",
    "segment": "csa", "honeycomb": "csa", "supabase": "csa", "vercel": "csa", "auth0": "csa",
    "onesignal": "csa", "pusher": "csa",
}
# Upstream rules csa covers by a mechanism rather than a rule of the same name.
UPSTREAM_COVERED: dict[str, str] = {
    "generic-api-key": "csa.redact_names (secret-named assignments) and csa.redact_entropy (near a secret word)",
    "database-password": "csa.redact_names: db_password / pwd names", "hashicorp-tf-password": "csa.redact_names",
    "nuget-config-password": "csa.redact_names: <add key=\"Password\" value=\"...\">",
    "curl-auth-header": "csa.redact_names: header names (any scheme)", "curl-auth-user": "cmdline-curl",
    "sidekiq-sensitive-url": "csa.redact: URL credentials", "pkcs12-file": "not applicable: a file-path rule",
}
