"""The WhatsApp Business Cloud API's wire shapes, as unmodified bots (pywa 4.5, heyoo) send and expect
them: request bodies, responses, the Graph error envelope and webhook payloads (docs/business.md).

Every Struct accepts unknown fields and treats ``null`` as absent, as the Cloud API does: all
members are optional here, and ``checks`` says which ones a request needs, naming the field. Length
and count limits are declared on the members (``limits``), so decoding enforces them and a
generated schema carries them. Encoders omit absent members. Sans-I/O: nothing here does I/O.
"""
