"""The business endpoint (docs/business.md sections 4, 6 and 9): a device of the business that holds
its keys, serves the Cloud API's ``POST /{phone_number_id}/messages`` to the bot, and turns what
customers send into signed webhooks. The same code runs inside ``passerelle serve`` (hosted) and in
``passerelle business-endpoint run`` (self-run)."""
