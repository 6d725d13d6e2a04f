"""1:1 messages: encrypting and sending (``outbox``), handling each mailbox item (``inbox``), and how
received content of any kind is stored (``content_rules``)."""
