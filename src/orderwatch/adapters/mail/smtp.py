"""Sending e-mail over SMTP: plain-text and HTML parts, a Message-ID derived from the idempotency key.

One connection is kept open per sender (one sender per worker thread) and reopened when the
server drops it. A refusal with a 5xx code is permanent (no retry, shown to staff); anything
else — 4xx, a dropped connection, a time-out — is retried by the delivery service.
"""

from __future__ import annotations

import hashlib
import smtplib
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formatdate

from orderwatch.services.ports import OutgoingMessage, PermanentFailure

IDEMPOTENCY_HEADER = "X-OrderWatch-Idempotency-Key"


def message_id(idempotency_key: str, *, domain: str) -> str:
    """The same ``Message-ID`` for every copy of one message (receivers collapse duplicates on it)."""
    digest = hashlib.sha256(idempotency_key.encode()).hexdigest()[:32]
    return f"<{digest}@{domain}>"


def build_email(message: OutgoingMessage, *, sender: str, domain: str) -> EmailMessage:
    """The MIME message: text/plain, plus text/html as an alternative when the template has one."""
    email = EmailMessage(policy=SMTP)
    email["From"] = sender
    email["To"] = message.recipient
    email["Subject"] = message.subject or ""
    email["Date"] = formatdate(usegmt=True)
    email["Message-ID"] = message_id(message.idempotency_key, domain=domain)
    email[IDEMPOTENCY_HEADER] = message.idempotency_key
    email.set_content(message.body_text)
    if message.body_html:
        email.add_alternative(message.body_html, subtype="html")
    return email


class SmtpSender:
    """An SMTP client for one thread; ``send`` raises to retry, ``PermanentFailure`` to give up."""

    def __init__(
        self,
        *,
        host: str,
        port: int,
        sender: str,
        timeout: float = 10.0,
        starttls: bool = False,
        username: str | None = None,
        password: str | None = None,
    ) -> None:
        self.host, self.port, self.sender, self.timeout = host, port, sender, timeout
        self.starttls, self.username, self.password = starttls, username, password
        self.domain = sender.rpartition("@")[2].strip(">") or "orderwatch.local"
        self._client: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        client = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        if self.starttls:
            client.starttls()
        if self.username:
            client.login(self.username, self.password or "")
        return client

    def send(self, message: OutgoingMessage) -> None:
        if not message.recipient or "@" not in message.recipient:
            raise PermanentFailure(f"recipient {message.recipient!r} is not an e-mail address")
        email = build_email(message, sender=self.sender, domain=self.domain)
        payload = email.as_bytes()
        try:
            client = self._client or self._connect()
            self._client = client
            client.sendmail(self.sender, [message.recipient], payload)
        except smtplib.SMTPRecipientsRefused as error:
            self.close()
            raise PermanentFailure(f"recipient refused: {error.recipients}") from error
        except smtplib.SMTPResponseException as error:
            self.close()
            if 500 <= error.smtp_code < 600:
                raise PermanentFailure(f"SMTP {error.smtp_code}: {error.smtp_error!r}") from error
            raise
        except (OSError, smtplib.SMTPException):
            self.close()
            raise

    def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            try:
                client.quit()
            except (OSError, smtplib.SMTPException):
                client.close()
