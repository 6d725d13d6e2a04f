"""Business messaging's use cases (docs/business.md): the operator's businesses, business accounts,
numbers and system-user tokens (``BusinessAdmin``); people finding businesses, their per-business ids
and their consent ledger (``BusinessPeople``). They talk to one narrow port, ``BusinessStore``."""
