"""The local SMTP servers: the mailbox's Message-ID reading and the benchmark's multi-process sink."""

from __future__ import annotations

import smtplib

import pytest
from benchmarks.smtp_sink import SinkProcesses

from orderwatch.adapters.mail.local_mailbox import LocalMailbox, message_id_of
from orderwatch.adapters.mail.smtp import mime_bytes
from orderwatch.services.ports import OutgoingMessage


def _message(key: str) -> OutgoingMessage:
    return OutgoingMessage(1, key, "shipped", "email", "c@example.com", "Olá", "Texto", "<p>Texto</p>", 1)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"From: a\r\nMessage-ID: <x@y>\r\nTo: b\r\n\r\nMessage-ID: <body@z>\r\n", "<x@y>"),
        (b"message-id:\t<lower@case>  \r\n\r\nbody", "<lower@case>"),
        (b"From: a\r\n\r\nMessage-ID: <only-in-body@z>\r\n", ""),
    ],
    ids=["header_case", "case_and_blanks_case", "absent_case"],
)
def test_message_id_is_read_from_the_header_block_only(data: bytes, expected: str) -> None:
    assert message_id_of(data) == expected


def test_mailbox_stores_one_copy_per_message_id() -> None:
    payload = mime_bytes(_message("k1"), sender="s@o.l", domain="o.l")
    with LocalMailbox() as mailbox:
        client = smtplib.SMTP(mailbox.host, mailbox.port)
        client.sendmail("s@o.l", ["c@example.com"], payload)
        client.sendmail("s@o.l", ["c@example.com"], payload)
        client.quit()
        deliveries, box = mailbox.handler.snapshot()
    assert len(deliveries) == 2
    assert list(box) == [message_id_of(payload)]
    assert box[message_id_of(payload)].parsed()["X-OrderWatch-Idempotency-Key"] == "k1"


def test_sink_processes_share_one_port_and_count_duplicates() -> None:
    with SinkProcesses(2) as sink:
        clients = [smtplib.SMTP("127.0.0.1", sink.port) for _ in range(4)]
        for index, client in enumerate(clients):
            client.sendmail(
                "s@o.l", ["c@example.com"], mime_bytes(_message(f"k{index}"), sender="s@o.l", domain="o.l")
            )
        clients[0].sendmail(
            "s@o.l", ["c@example.com"], mime_bytes(_message("k0"), sender="s@o.l", domain="o.l")
        )
        for client in clients:
            client.quit()
        assert sink.received() == 5
    assert len(sink.message_ids) == 5
    assert sink.duplicates() == 1
