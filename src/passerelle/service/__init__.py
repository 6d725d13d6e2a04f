"""Use cases. They talk only to the ports in ``passerelle.service.ports``; no adapter, no driver."""
