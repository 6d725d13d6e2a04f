"""The bot's webhook receiver in a process of its own (``WebhookReceiver.running(separate=True)``):
a bot is another program, so its answers must not wait for the bench's event loop, which runs the
people's SDK clients (in (h) it is busy encrypting their 500 messages a second, and one webhook is in
flight per business: each post would wait for it).

    python -m passerelle.cli.bench.receiver_proc APP_SECRET VERIFY_TOKEN

It writes ``port N`` on stdout once listening, then a line per POST: ``P <arrival ns> <body
length>`` followed by the body's bytes for an accepted one, ``B`` for a bad signature; it stops when
its stdin closes. The arrival is ``perf_counter_ns`` (CLOCK_MONOTONIC: the parent's clock too).
"""

from __future__ import annotations

import asyncio
import sys

from passerelle.cli.bench.business_world import WebhookReceiver


class _Relay(WebhookReceiver):
    def _answer(
        self, method: str, target: str, headers: dict[str, str], body: bytes, arrived: int
    ) -> tuple[int, bytes]:
        bad = self.bad_signatures
        status, answer = super()._answer(method, target, headers, body, arrived)
        out = sys.stdout.buffer
        if self.bad_signatures > bad:
            out.write(b"B\n")
        elif method == "POST" and status == 200:
            out.write(b"P %d %d\n" % (arrived, len(body)) + body)
        out.flush()
        return status, answer


async def _main(app_secret: str, verify_token: str) -> None:
    relay = _Relay(app_secret=app_secret, verify_token=verify_token)
    async with relay.running():
        sys.stdout.buffer.write(b"port %d\n" % int(relay.url.split(":")[2].split("/")[0]))
        sys.stdout.buffer.flush()
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader()
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
        await reader.read()  # until the parent closes stdin


if __name__ == "__main__":
    asyncio.run(_main(sys.argv[1], sys.argv[2]))
