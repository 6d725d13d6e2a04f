"""The ports: what the use cases need from the world, as Protocols. Adapters live in
``passerelle.storage`` and ``passerelle.broker``; ``passerelle.server.wiring`` picks them.

Store contract (checked by tests/contract on every adapter):
- Each method is one transaction; it commits before it returns.
- Mailbox positions of one device only grow, and a device's rows commit in position order, so a
  reader that has seen position P never later finds a new row below P.
- ``append`` stores all its messages durably or raises; a repeated (sender_device, client_id)
  returns the first message's result, whatever the repeat carried.
- ``claim_keys`` hands each one-time key out exactly once, even under concurrent claims.

One module per capability; each service takes only the parts it uses (its own small Protocol
combining them), and ``Store`` (the sum) is what a store adapter gives.
"""

from passerelle.service.ports.accounts import (
    AccountStore as AccountStore,
)
from passerelle.service.ports.accounts import (
    CodeSender as CodeSender,
)
from passerelle.service.ports.accounts import (
    CodeStore as CodeStore,
)
from passerelle.service.ports.accounts import (
    DeviceNotices as DeviceNotices,
)
from passerelle.service.ports.accounts import (
    DeviceStore as DeviceStore,
)
from passerelle.service.ports.accounts import (
    ServerSecret as ServerSecret,
)
from passerelle.service.ports.accounts import (
    TokenStore as TokenStore,
)
from passerelle.service.ports.broker import (
    Broker as Broker,
)
from passerelle.service.ports.broker import (
    BrokerEvent as BrokerEvent,
)
from passerelle.service.ports.broker import (
    BrokerHandler as BrokerHandler,
)
from passerelle.service.ports.broker import (
    Connected as Connected,
)
from passerelle.service.ports.broker import (
    DeviceNews as DeviceNews,
)
from passerelle.service.ports.broker import (
    Ephemeral as Ephemeral,
)
from passerelle.service.ports.broker import (
    Invalidate as Invalidate,
)
from passerelle.service.ports.conversations import (
    ConversationStore as ConversationStore,
)
from passerelle.service.ports.groups import (
    GroupStore as GroupStore,
)
from passerelle.service.ports.keys import (
    KeyStore as KeyStore,
)
from passerelle.service.ports.mailbox import (
    Mailbox as Mailbox,
)
from passerelle.service.ports.media import (
    BlobStore as BlobStore,
)
from passerelle.service.ports.media import (
    MediaStore as MediaStore,
)
from passerelle.service.ports.privacy import (
    PrivacyStore as PrivacyStore,
)
from passerelle.service.ports.store import (
    Store as Store,
)
from passerelle.service.ports.stories import (
    StoryStore as StoryStore,
)
from passerelle.service.ports.system import (
    Clock as Clock,
)
from passerelle.service.ports.system import (
    ConnectionSlots as ConnectionSlots,
)
from passerelle.service.ports.system import (
    IdGenerator as IdGenerator,
)
from passerelle.service.ports.system import (
    Lease as Lease,
)
from passerelle.service.ports.system import (
    RateLimits as RateLimits,
)
