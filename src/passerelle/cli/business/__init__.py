"""``passerelle business …``: the operator's commands for businesses, over the admin REST API."""
