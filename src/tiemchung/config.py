"""One settings object for every entry point (CLI, server, tests).

Everything is read from the environment with the ``TIEMCHUNG_`` prefix, so the same process
configuration works for `tiemchung serve`, `tiemchung init` and the test suite alike.
"""

from __future__ import annotations

import os
import secrets
from functools import lru_cache
from pathlib import Path

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Process-wide configuration.

    >>> Settings(database_url="sqlite:///x.db").is_sqlite
    True
    """

    model_config = SettingsConfigDict(env_prefix="TIEMCHUNG_", extra="ignore")

    data_dir: Path = Path("data")
    database_url: str = ""
    token_ttl_minutes: int = 8 * 60
    # Partner clients (issue 19, auth/clients.py): a client token's lifetime, the requests a
    # minute a client without its own ``rate_per_minute`` may make, and how long a server
    # process trusts its cached copy of a client (disabled, rotated) before reading it again.
    client_token_ttl_minutes: int = 60
    client_rate_per_minute: int = 600
    client_cache_s: float = 5.0
    # Vietnam does not observe daylight saving; "today" for a dose date is Vietnam's today.
    timezone: str = "Asia/Ho_Chi_Minh"
    log_level: str = "INFO"
    # Logs one JSON object a line ("json") or plain lines ("text"); see tiemchung.logmask.
    log_format: str = "text"
    # The throttles' shared counts (auth/throttlestore.py): in Redis when set
    # (redis://host:6379/0), else in the database; either way every worker shares them.
    redis_url: str = ""
    # Group commit: the writer commits at most this many queued writes in one transaction.
    writer_max_batch: int = 512
    # A lot with a cluster of serious AEFI (registry/aefi/signals.py, the rule's one home):
    # this many serious reports within this many days, or at least ``aefi_rate_min_serious``
    # and this many per 10,000 doses of the lot.
    aefi_burst_count: int = 3
    aefi_burst_days: int = 7
    aefi_per_10k: float = 10.0
    aefi_rate_min_serious: int = 2
    # An upload of old records (``POST /api/v1/imports``, the upload page): at most this many
    # megabytes, all its files together (a million-row CSV is some 120 MB). The files are
    # kept under ``data_dir/imports/`` (registry/imports/jobs.py).
    import_max_mb: int = 512
    # SMS (issue 18, registry/messages/sender.py): the gateway (smpp://user:pass@host:port,
    # http(s)://… with the three http settings below, file:PATH); empty: no sender.
    sms_gateway: str = ""
    sms_http_auth: str = ""  # one header line, "Authorization: Bearer …"
    sms_http_body: str = ""  # the JSON body with {message_id} {phone} {international} {text}…
    sms_http_id_field: str = "id"  # where the provider's answer puts its id
    sms_rate: float = 0.0  # messages a second (0: no limit of ours; smpp URL's ?rate= wins)
    sms_keep_accents: bool = False  # True: Vietnamese accents kept, sent as UCS-2 (70 a segment)
    sms_quiet_hours: str = "21:00-07:00"  # Vietnam time; one-time codes exempt; "" for none
    sms_batch: int = 500  # messages claimed at a time
    sms_claim_timeout_s: int = 300  # a claim this old is a crashed sender's: taken back
    sms_max_attempts: int = 8  # then failed
    sms_backoff_s: float = 30.0  # first retry after this, doubling, at most 6 hours
    sms_worker_in_serve: bool = False  # `tiemchung serve` also runs the sender (the demo)
    # Invitations and reminders (issue 18): the address the short links in texts point at
    # (the public site, as people's phones reach it), and how many days before the next dose
    # is due a reminder is queued (registry/invitations/reminders.py).
    public_url: str = "http://localhost:8000"
    reminder_days: int = 3
    # The population register as a remote service (issue 19, gateways/register_http.py,
    # docs/register-remote.md): empty URL, the local snapshot only. Credentials: a bearer
    # token, or "user:password" for basic, or a client certificate (and key) for mTLS; the CA
    # that signs the register's certificate. The desk waits at most connect + read timeout
    # (retries on 5xx/429 only while ``register_deadline_s`` allows), the breaker opens after
    # ``register_breaker_failures`` failures in a row for ``register_breaker_cooldown_s``.
    register_url: str = ""
    register_token: str = ""
    register_basic: str = ""
    register_client_cert: str = ""
    register_client_key: str = ""
    register_ca: str = ""
    register_connect_timeout_s: float = 1.0
    register_read_timeout_s: float = 2.0
    register_deadline_s: float = 3.0
    register_retries: int = 2
    register_backoff_s: float = 0.2
    register_breaker_failures: int = 5
    register_breaker_cooldown_s: float = 30.0
    register_cache_ttl_s: float = 300.0
    register_cache_miss_ttl_s: float = 30.0
    # `tiemchung register pull` / the worker: persons a page, and how often the worker pulls
    # (0: the worker does not pull)
    register_pull_batch: int = 1000
    register_pull_every_s: float = 0.0
    # FHIR bulk export (issue 19 point 2): a done job's files under ``data_dir/exports/``
    # are deleted this many hours after it ended (registry/exports/jobs.py).
    export_expiry_hours: float = 24.0
    # Webhooks to partner clients (issue 19, registry/changes/delivery.py): run by
    # `tiemchung worker`, and by `tiemchung serve` when ``webhooks_in_serve``.
    webhooks_in_serve: bool = False
    webhook_poll_s: float = 0.2  # the change log's head is read this often when idle
    webhook_batch: int = 100  # events per POST at most
    webhook_timeout_s: float = 5.0  # one POST's time limit
    webhook_lease_s: float = 20.0  # a claim on a subscription this old is a crashed deliverer's
    webhook_max_attempts: int = 8  # then the batch is a dead letter and the cursor moves on
    webhook_backoff_s: float = 2.0  # first retry after 1-2 s, doubling, at most 10 minutes
    webhook_pause_after: int = 5  # dead batches in a row that pause a subscription
    # FHIR (issue 19, fhir/codes.py): the base of the identifier and code systems the
    # installation publishes (Vietnam has no FHIR NamingSystem for CCCD/CMND): CCCD is
    # ``<base>/sid/cccd``, CMND ``<base>/sid/cmnd``, listed at /fhir/R4/NamingSystem.
    fhir_system_base: str = "https://tiemchung.vn/fhir"
    # Backups (issue 20 point 7, ops/backup.py, docs/backup.md): the file holding the
    # passphrase that encrypts ``keys/`` inside an archive (else TIEMCHUNG_KEY_PASSPHRASE_FILE's
    # file), and the folder of pg_dump/pg_restore (empty: the server's version, found).
    backup_passphrase_file: str = ""
    pg_bin: str = ""
    # Key custody (issue 20 point 6, certificates/custody.py, docs/keys.md): the passphrase
    # that encrypts the signing keys at rest, preferably from a file (its first line) so it
    # is in no process's environment; and an optional PKCS#11 module holding the DSC key.
    key_passphrase_file: Path | None = None
    key_passphrase: SecretStr | None = None
    pkcs11_module: Path | None = None
    pkcs11_token_label: str = ""
    pkcs11_key_label: str = ""
    pkcs11_pin_file: Path | None = None
    # Monitoring (issue 20, serving/metrics.py; docs/operations.md): ``/metrics`` answers
    # loopback, the comma-separated CIDRs of ``metrics_allow`` and a caller sending
    # ``Authorization: Bearer <metrics_token>``; everyone else gets 403 (or 401 when a token
    # would admit them). ``health_timeout_s`` bounds the readiness probe's database check.
    metrics_allow: str = ""
    metrics_token: str = ""
    health_timeout_s: float = 1.5

    @property
    def resolved_database_url(self) -> str:
        """The configured URL, or a SQLite file inside ``data_dir``."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'tiemchung.db').resolve()}"

    @property
    def is_sqlite(self) -> bool:
        return self.resolved_database_url.startswith("sqlite")

    @property
    def secret_key_path(self) -> Path:
        return self.data_dir / "keys" / "token-secret"

    def token_secret(self, *, create: bool = False) -> bytes:
        """The HMAC secret that signs bearer tokens; created (0600) by ``tiemchung init``."""
        path = self.secret_key_path
        if not path.exists():
            if not create:
                raise FileNotFoundError(
                    f"token secret missing at {path}; run `tiemchung init` "
                    f"(khoá ký token chưa có, hãy chạy `tiemchung init`)"
                )
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(secrets.token_bytes(32).hex().encode())
        return path.read_bytes().strip()


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
