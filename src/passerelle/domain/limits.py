"""The limits every node enforces: sizes, rates, timeouts. A plain value: ``passerelle.config``
reads it from the ``[limits]`` table, and the composition root hands it to the services and edges
that need it (services never read configuration).
"""

from __future__ import annotations

from dataclasses import dataclass

from passerelle.domain.apps import DAY_S


@dataclass(frozen=True, slots=True, kw_only=True)
class Limits:
    max_body_bytes: int = 64 * 1024
    max_frame_bytes: int = 1024 * 1024
    max_envelope_bytes: int = 64 * 1024
    max_targets: int = 1100
    request_waiting_messages: int = 50
    """Messages one person may have waiting, unacknowledged, on each device of someone who has not
    accepted their message request; past it, sends are ``forbidden`` until those are read."""
    codes_per_phone: int = 3
    codes_per_phone_window_s: int = 600
    codes_per_client_per_hour: int = 10
    code_ttl_s: int = 600
    code_attempts: int = 5
    logins_per_window: int = 10
    login_window_s: int = 600
    sends_per_second: float = 200.0
    send_burst: int = 400
    receipts_per_second: float = 20.0
    """Receipt frames per device (each is stored in the mailboxes of its recipient's devices)."""
    receipt_burst: int = 100
    lookups_per_minute: int = 30
    max_one_time_keys: int = 200
    keys_low_threshold: int = 10
    token_ttl_s: int = 30 * DAY_S
    challenge_ttl_s: int = 60
    send_queue_frames: int = 1024
    """Frames waiting for a slow connection (ASGI gateway) before it is closed with 1013."""
    send_buffer_bytes: int = 4 * 1024 * 1024
    """Bytes waiting for a slow connection before it is closed with 1013 (picows: the transport's
    write buffer; ASGI: the frames queued for the pump, besides ``send_queue_frames``)."""
    recv_buffer_bytes: int = 1024 * 1024
    """Bytes of received frames waiting for a connection's read loop (picows gateway) before the
    server stops reading from its socket until the loop catches up (TCP backpressure)."""
    max_blob_bytes: int = 100 * 1024 * 1024
    """The largest encrypted media blob (its declared size at upload)."""
    blob_chunk_bytes: int = 4 * 1024 * 1024
    """The largest body of one upload chunk (PATCH /v1/media/uploads/{blob})."""
    max_pending_uploads: int = 16
    """Unfinished uploads one account may hold at a time."""
    upload_ttl_s: int = DAY_S
    """An upload not finished within this time is abandoned; the janitor deletes it."""
    hello_timeout_s: float = 10.0
    """A WebSocket that has not said ``hello`` this long after it opened is closed with 4002."""
    max_connections_per_client: int = 256
    """Open WebSockets (authenticated or not) per client address on one node; past it, 4008.
    IPv6 clients are counted per /64."""
    max_connections_per_account: int = 16
    """Authenticated WebSockets per account (one per device), on all nodes together when they share
    a Redis; past it, 4008."""
    connection_slot_ttl_s: float = 30.0
    """With several nodes, how long a connection stays counted against its account after its node
    last said it is alive (every third of this): a dead node's connections stop counting after it."""
    max_connections: int = 10_000
    """Open WebSockets on one node, all clients together; past it, 1013 (keep it under the fd limit)."""
    failed_hellos_per_window: int = 20
    """``hello`` frames with a bad token per client address per ``failed_hello_window_s``; past it, 4008."""
    failed_hello_window_s: int = 60
    hellos_per_device_per_second: float = 1.0
    hello_burst: int = 20
    """Accepted ``hello`` frames per device: a reconnect loop is refused with 4008."""
    consent_changes_per_hour: int = 60
    consent_change_burst: int = 20
    """A person's opt-ins and stops, all businesses together: each is a ledger row and may be a
    webhook in the business's outbox, so a person toggling cannot fill either."""
    business_sends_per_second: float = 80.0
    """Sends per business number per second (the Cloud API's default throughput; past it, 130429)."""
    business_pair_interval_s: float = 6.0
    business_pair_burst: int = 45
    """Sends from one business number to one person: one per ``business_pair_interval_s`` on average,
    with a burst of ``business_pair_burst`` (past it, 131056)."""
    business_templates_per_waba: int = 250
    """Message templates a business account may hold (Meta's limit for an unverified business)."""
    typing_per_second: float = 5.0
    typing_burst: int = 10
    rate_limit_keys: int = 100_000
    """Buckets kept per rate limit (each limit has its own table); a full table never forgets a
    limit in force: it refuses new keys of that limit until one refills."""
    token_check_interval_s: float = 5.0
    """How often each node looks for connections whose token expired (they close at expiry, and at
    the latest this long after a clock jump)."""
