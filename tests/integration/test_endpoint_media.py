"""Media through the business endpoint (docs/business.md section 6, "Media"), end to end: the bot
(plain httpx, the multipart and JSON bodies pywa 4.5 sends) uploads a file, sends it by id or by link,
reads its URL and downloads it with its token, deletes it; the person's SDK receives the attachment
(decrypted, hash checked) with its caption and kind; a person's photo comes to the bot as an
``image`` webhook it can fetch. Self-run and hosted. The server's files never hold the picture or
its caption."""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import threading
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio

from passerelle.sdk import Client
from tests.conftest import ServerHandle
from tests.integration.endpoint_harness import Bot, enrolment, inbound, next_message, open_shop, self_run
from tests.integration.test_business import ADMIN, AUTH, PW
from tests.integration.webhook_receiver import Receiver

pytestmark = pytest.mark.settings(
    admin_token=ADMIN, operator_name="Passerelle Demo", webhook_backoff_base_s=0.02, webhook_backoff_cap_s=0.1
)
SECRET = "app-secret-0123456789abcdef"
MARK = b"PIXELS-OF-THE-RED-BIKE-" + b"7" * 16


def jpeg(extra: int = 2000) -> bytes:
    """A JPEG-looking file (its first bytes are JPEG's) with a marker to search for."""
    return b"\xff\xd8\xff\xe0" + MARK + secrets.token_bytes(extra) + b"\xff\xd9"


def pdf() -> bytes:
    return b"%PDF-1.4\n" + MARK + secrets.token_bytes(3000) + b"\n%%EOF\n"


@pytest_asyncio.fixture
async def receiver() -> AsyncIterator[Receiver]:
    bot = Receiver(app_secret=SECRET)
    await bot.start()
    yield bot
    await bot.stop()


@pytest.fixture
def files() -> Iterator[tuple[str, dict[str, tuple[str, bytes]]]]:
    """A plain HTTP server on 127.0.0.1 serving files for ``link`` sends: path → (type, bytes)."""
    served: dict[str, tuple[str, bytes]] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            found = served.get(self.path)
            if found is None:
                self.send_response(404)
                self.end_headers()
                return
            if found[0] == "redirect":
                self.send_response(302)
                self.send_header("Location", found[1].decode())
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", found[0])
            self.send_header("Content-Length", str(len(found[1])))
            self.end_headers()
            self.wfile.write(found[1])

        def log_message(self, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", served
    httpd.shutdown()
    httpd.server_close()


async def upload(bot: Bot, data: bytes, mime: str, name: str = "a.jpg") -> httpx.Response:
    """``wa.upload_media``: multipart ``file``, ``messaging_product``, ``type`` (pywa 4.5's bytes)."""
    return await bot.http.post(
        f"/{bot.shop.number_id}/media",
        files={"file": (name, data, mime)},
        data={"messaging_product": "whatsapp", "type": mime},
    )


def error(answer: httpx.Response) -> dict[str, Any]:
    body: dict[str, Any] = answer.json()["error"]
    return body


async def a_customer(server: ServerHandle, tmp_path: Path, receiver: Receiver) -> tuple[Client, str, str]:
    """Alice (app ``photo``) writes first (the window opens); returns her, the business's account
    and her ``user_id`` at the business."""
    alice = await Client.register(
        server.url, tmp_path / "alice", app="photo", handle="alice", password=PW, display_name="Alice"
    )
    await alice.connect()
    business = str((await alice.businesses.find("biz:velo-paris")).account_id)
    await alice.send_text(business, "Vous avez une photo du vélo ?")
    await receiver.wait_until(lambda r: len(inbound(r)) >= 1)
    return alice, business, inbound(receiver)[0]["contacts"][0]["user_id"]


async def test_media_through_a_self_run_endpoint(
    server: ServerHandle,
    http: httpx.AsyncClient,
    receiver: Receiver,
    tmp_path: Path,
    files: tuple[str, dict[str, tuple[str, bytes]]],
) -> None:
    shop = await open_shop(http, receiver)
    async with self_run(server, tmp_path / "endpoint", await enrolment(http, shop.business_id)) as (_, base):
        bot = Bot(base, shop)
        alice, business, user_id = await a_customer(server, tmp_path, receiver)
        stream = alice.messages()
        try:
            # Upload, then send by id with a caption: Alice's app shows the photo and the caption.
            photo = jpeg()
            uploaded = await upload(bot, photo, "image/jpeg")
            assert uploaded.status_code == 200, uploaded.text
            media_id = uploaded.json()["id"]
            assert media_id.isdigit()
            sent = await bot.send(
                {"recipient": user_id, "type": "image", "image": {"id": media_id, "caption": "Le vélo rouge"}}
            )
            assert sent.status_code == 200, sent.text
            shown = await next_message(stream)
            assert shown.sender == business and shown.text == "Le vélo rouge"
            assert shown.attachment is not None and shown.attachment.kind == "image"
            assert shown.attachment.mime == "image/jpeg"
            assert shown.cloud == {
                "type": "image",
                "image": {"mime_type": "image/jpeg", "caption": "Le vélo rouge"},
            }
            assert await alice.media.download(shown) == photo
            # The same media again (heyoo's "caption": null is no caption).
            again = await bot.send(
                {"recipient": user_id, "type": "image", "image": {"id": media_id, "caption": None}}
            )
            assert again.status_code == 200, again.text
            shown = await next_message(stream)
            assert shown.attachment is not None and await alice.media.download(shown) == photo
            assert shown.text == "📷 Photo"

            # GET /{media_id}: the URL, type, hash and size; the URL needs the bot's token.
            info = await bot.http.get(f"/{media_id}")
            assert info.status_code == 200, info.text
            got = info.json()
            assert got == {
                "messaging_product": "whatsapp",
                "url": got["url"],
                "mime_type": "image/jpeg",
                "sha256": hashlib.sha256(photo).hexdigest(),
                "file_size": len(photo),
                "id": media_id,
            }
            assert got["url"].startswith(base)
            fetched = await bot.http.get(got["url"])
            assert fetched.status_code == 200 and fetched.content == photo
            assert fetched.headers["content-type"] == "image/jpeg"
            async with httpx.AsyncClient() as stranger:
                refused = await stranger.get(got["url"])
                assert refused.status_code == 401 and error(refused)["code"] == 190
                refused = await stranger.get(got["url"], headers={"Authorization": "Bearer pbt_wrong"})
                assert refused.status_code == 401 and error(refused)["code"] == 190

            # A document by link (the endpoint fetches it), with its file name and a caption.
            root, served = files
            leaflet = pdf()
            served["/tarifs.pdf"] = ("application/pdf", leaflet)
            served["/moved"] = ("redirect", f"{root}/tarifs.pdf".encode())
            sent = await bot.send(
                {
                    "recipient": user_id,
                    "type": "document",
                    "document": {
                        "link": f"{root}/moved",
                        "filename": "Tarifs 2026.pdf",
                        "caption": "Nos prix",
                    },
                }
            )
            assert sent.status_code == 200, sent.text
            shown = await next_message(stream)
            assert shown.attachment is not None and shown.attachment.kind == "file"
            assert shown.attachment.name == "Tarifs 2026.pdf" and shown.text == "Nos prix"
            assert await alice.media.download(shown) == leaflet
            assert shown.cloud is not None and shown.cloud["document"]["filename"] == "Tarifs 2026.pdf"

            # Alice sends a photo with a caption: the bot gets an image webhook and fetches the file.
            hers = jpeg(5000)
            await alice.media.send_image(business, hers, caption="Celui-ci ?")
            await receiver.wait_until(lambda r: any(v["messages"][0]["type"] == "image" for v in inbound(r)))
            webhook = next(v for v in inbound(receiver) if v["messages"][0]["type"] == "image")
            image = webhook["messages"][0]["image"]
            assert image["mime_type"] == "image/jpeg" and image["caption"] == "Celui-ci ?"
            assert image["sha256"] == hashlib.sha256(hers).hexdigest()
            assert webhook["contacts"][0]["user_id"] == user_id
            url = (await bot.http.get(f"/{image['id']}")).json()["url"]
            assert (await bot.http.get(url)).content == hers

            # DELETE /{media_id}; then it is gone (100, subcode 33), for the URL too.
            deleted = await bot.http.delete(f"/{media_id}")
            assert deleted.status_code == 200 and deleted.json() == {"success": True}
            for gone in (
                await bot.http.get(f"/{media_id}"),
                await bot.http.delete(f"/{media_id}"),
                await bot.http.get(got["url"]),
            ):
                assert gone.status_code == 400, gone.text
                assert error(gone)["code"] == 100 and error(gone)["error_subcode"] == 33

            # Neither picture, the file, nor any caption is in the server's files or log.
            for path in server.server_files():
                data = path.read_bytes()
                assert MARK not in data, f"a file's bytes in {path}"
                for text in ("Le vélo rouge", "Nos prix", "Celui-ci ?", "Tarifs 2026"):
                    assert text.encode() not in data, f"{text!r} in {path}"
        finally:
            await alice.close()
            await bot.aclose()


async def test_bad_media_gets_the_cloud_api_errors(
    server: ServerHandle,
    http: httpx.AsyncClient,
    receiver: Receiver,
    tmp_path: Path,
    files: tuple[str, dict[str, tuple[str, bytes]]],
) -> None:
    shop = await open_shop(http, receiver)
    async with self_run(server, tmp_path / "endpoint", await enrolment(http, shop.business_id)) as (_, base):
        bot = Bot(base, shop)
        alice, _business, user_id = await a_customer(server, tmp_path, receiver)
        try:
            too_big = await upload(bot, jpeg(5 * 1024 * 1024), "image/jpeg")
            assert too_big.status_code == 400 and error(too_big)["code"] == 131053
            assert "5 MB" in error(too_big)["error_data"]["details"]
            gif = await upload(bot, b"GIF89a" + MARK, "image/gif", "a.gif")
            assert error(gif)["code"] == 131053 and "image/gif" in error(gif)["error_data"]["details"]
            liar = await upload(bot, jpeg(), "image/png", "a.png")
            assert error(liar)["code"] == 131053 and "not image/png" in error(liar)["error_data"]["details"]
            no_product = await bot.http.post(
                f"/{shop.number_id}/media",
                files={"file": ("a.jpg", jpeg(), "image/jpeg")},
                data={"type": "image/jpeg"},
            )
            assert error(no_product)["code"] == 100 and "messaging_product" in error(no_product)["message"]
            no_file = await bot.http.post(
                f"/{shop.number_id}/media", data={"messaging_product": "whatsapp", "type": "image/jpeg"}
            )
            assert error(no_file)["code"] == 100
            bad_token = await bot.http.post(
                f"/{shop.number_id}/media",
                files={"file": ("a.jpg", jpeg(), "image/jpeg")},
                data={"messaging_product": "whatsapp", "type": "image/jpeg"},
                headers={"Authorization": "Bearer pbt_wrong"},
            )
            assert bad_token.status_code == 401 and error(bad_token)["code"] == 190
            for ttl, code in (("0", 100), ("forever", 100), ("60", None)):
                answer = await bot.http.post(
                    f"/{shop.number_id}/media",
                    files={"file": ("a.jpg", jpeg(), "image/jpeg")},
                    data={"messaging_product": "whatsapp", "type": "image/jpeg", "ttl_minutes": ttl},
                )
                if code is None:
                    assert answer.status_code == 200, answer.text
                else:
                    assert error(answer)["code"] == code and "ttl_minutes" in error(answer)["message"]

            # A JSON body over the limit is refused in the Graph envelope (the upload path alone is
            # allowed the size of a file).
            huge = await bot.send({"recipient": user_id, "type": "text", "text": {"body": "x" * 300_000}})
            assert huge.status_code == 413 and error(huge)["code"] == 100
            unknown = await bot.send(
                {"recipient": user_id, "type": "image", "image": {"id": "1234567890123456"}}
            )
            assert error(unknown)["code"] == 100 and "image.id" in error(unknown)["message"]
            info = await bot.http.get("/1234567890123456")
            assert error(info)["code"] == 100 and error(info)["error_subcode"] == 33
            video = (await upload(bot, b"\x00\x00\x00\x18ftypmp42" + MARK, "video/mp4", "v.mp4")).json()["id"]
            wrong_kind = await bot.send({"recipient": user_id, "type": "image", "image": {"id": video}})
            assert (
                error(wrong_kind)["code"] == 100 and "video/mp4" in error(wrong_kind)["error_data"]["details"]
            )
            sticker_caption = await bot.send(
                {"recipient": user_id, "type": "sticker", "sticker": {"id": video, "caption": "x"}}
            )
            assert (
                error(sticker_caption)["code"] == 100
                and "sticker.caption" in error(sticker_caption)["message"]
            )

            root, served = files
            served["/a.txt"] = ("text/plain", b"hello")
            for link, words in (
                (f"{root}/missing.jpg", "HTTP 404"),
                (f"{root}/a.txt", "text/plain"),
                ("ftp://example.org/a.jpg", "link"),
            ):
                answer = await bot.send({"recipient": user_id, "type": "image", "image": {"link": link}})
                assert answer.status_code == 400, answer.text
                assert (
                    words
                    in answer.json()["error"]["error_data"]["details"] + answer.json()["error"]["message"]
                )
            served["/big.jpg"] = ("image/jpeg", jpeg(6 * 1024 * 1024))
            big = await bot.send(
                {"recipient": user_id, "type": "image", "image": {"link": f"{root}/big.jpg"}}
            )
            assert error(big)["code"] == 131053 and "5 MB" in error(big)["error_data"]["details"]
        finally:
            await alice.close()
            await bot.aclose()


async def test_media_through_a_hosted_endpoint(
    server: ServerHandle, http: httpx.AsyncClient, receiver: Receiver, tmp_path: Path
) -> None:
    shop = await open_shop(http, receiver)
    hosted = await http.post(f"/v1/admin/businesses/{shop.business_id}/endpoint", headers=AUTH)
    assert hosted.status_code == 201, hosted.text
    other_hook = Receiver(app_secret=SECRET)
    await other_hook.start()
    other = await open_shop(http, other_hook, slug="autre-boutique", display="+33 9 87 65 43 21")
    assert (
        await http.post(f"/v1/admin/businesses/{other.business_id}/endpoint", headers=AUTH)
    ).status_code == 201
    bot, rival = Bot(server.url, shop), Bot(server.url, other)
    alice, business, user_id = await a_customer(server, tmp_path, receiver)
    stream = alice.messages()
    try:
        photo = jpeg()
        uploaded = await upload(bot, photo, "image/jpeg")
        assert uploaded.status_code == 200, uploaded.text
        media_id = uploaded.json()["id"]
        sent = await bot.send(
            {"recipient": user_id, "type": "image", "image": {"id": media_id, "caption": "Voilà"}}
        )
        assert sent.status_code == 200, sent.text
        shown = await next_message(stream)
        assert shown.sender == business and shown.text == "Voilà"
        assert await alice.media.download(shown) == photo
        huge = await bot.send({"recipient": user_id, "type": "text", "text": {"body": "x" * 100_000}})
        assert huge.status_code == 413 and error(huge)["code"] == 100
        info = (await bot.http.get(f"/{media_id}")).json()
        assert info["url"].startswith(server.url) and info["file_size"] == len(photo)
        assert (await bot.http.get(info["url"])).content == photo
        # Another business's bot: the media does not exist for it.
        for answer in (
            await rival.http.get(f"/{media_id}"),
            await rival.http.get(info["url"]),
            await rival.http.delete(f"/{media_id}"),
        ):
            assert answer.status_code == 400 and error(answer)["code"] == 100
            assert error(answer)["error_subcode"] == 33
        # Hosted: a link to a loopback or private address is refused (the operator's network).
        for link in (
            "http://127.0.0.1:9/x.jpg",
            "http://10.0.0.7/x.jpg",
            "http://[::1]/x.jpg",
            "http://169.254.169.254/latest/meta-data",
        ):
            refused = await bot.send({"recipient": user_id, "type": "image", "image": {"link": link}})
            assert error(refused)["code"] == 131053 and "public" in error(refused)["error_data"]["details"]
        # A person's voice note reaches the bot as audio.
        await alice.media.send_voice(business, b"OggS" + MARK, duration_ms=3000)
        await receiver.wait_until(lambda r: any(v["messages"][0]["type"] == "audio" for v in inbound(r)))
        audio = next(v for v in inbound(receiver) if v["messages"][0]["type"] == "audio")["messages"][0][
            "audio"
        ]
        assert audio["mime_type"] == "audio/ogg" and "caption" not in audio
        url = (await bot.http.get(f"/{audio['id']}")).json()["url"]
        assert (await bot.http.get(url)).content == b"OggS" + MARK
        assert (await bot.http.delete(f"/{media_id}")).json() == {"success": True}
    finally:
        await alice.close()
        await bot.aclose()
        await rival.aclose()
        await other_hook.stop()
        await asyncio.sleep(0)
