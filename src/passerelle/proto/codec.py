"""Bytes to frames and back. JSON enters and leaves the protocol only here."""

from __future__ import annotations

import msgspec

from passerelle.proto.errors import RemoteProtocolError
from passerelle.proto.frames import Ack, ClientFrame, ServerFrame

_encoder = msgspec.json.Encoder()
_client_decoder: msgspec.json.Decoder[ClientFrame] = msgspec.json.Decoder(ClientFrame)
_server_decoder: msgspec.json.Decoder[ServerFrame] = msgspec.json.Decoder(ServerFrame)
_ack_decoder = msgspec.json.Decoder(Ack)

encode = _encoder.encode


def _explain(exc: msgspec.MsgspecError) -> RemoteProtocolError:
    text = str(exc)
    if isinstance(exc, msgspec.ValidationError):
        if "Invalid value" in text and "`$.t`" in text:
            return RemoteProtocolError("unknown_frame", f"unknown frame type: {text}")
        return RemoteProtocolError("bad_frame", text)
    return RemoteProtocolError("bad_json", f"not a JSON frame: {text}")


def decode_client_frame(data: bytes | str) -> ClientFrame:
    try:
        return _client_decoder.decode(data)
    except msgspec.MsgspecError as exc:
        raise _explain(exc) from exc
    except RecursionError as exc:  # JSON nested deeper than the decoder's stack allows
        raise RemoteProtocolError("bad_json", "not a JSON frame: nested too deeply") from exc


def decode_ack(data: bytes) -> Ack | None:
    """An ``ack`` frame, or None when ``data`` is anything else or malformed (then the caller takes
    the general path, which answers errors as usual)."""
    try:
        return _ack_decoder.decode(data)
    except (msgspec.MsgspecError, RecursionError):
        return None


def decode_server_frame(data: bytes | str) -> ServerFrame:
    try:
        return _server_decoder.decode(data)
    except msgspec.MsgspecError as exc:
        raise _explain(exc) from exc
    except RecursionError as exc:
        raise RemoteProtocolError("bad_json", "not a JSON frame: nested too deeply") from exc
