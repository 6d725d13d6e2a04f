"""Several nodes share media and stories through S3-compatible object storage (moto, in server mode).

Each node has its own data directory, so nothing but the object store carries a blob from the node
that took the upload to the node that serves the download. The SDK users are real: they encrypt,
upload, download, verify and decrypt; the server holds ciphertext only.
"""

from __future__ import annotations

import secrets
from pathlib import Path

import obstore
import pytest

from passerelle.sdk import Client, Message
from tests.integration.cluster import cluster
from tests.moto_s3 import bucket_view, new_bucket, node_settings
from tests.watch import Watcher

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.timeout(120)]
PW = "correct horse battery"


def marked(marker: str, size: int) -> bytes:
    """``size`` bytes of noise with a recognisable plaintext marker every 64 KiB."""
    out = bytearray(secrets.token_bytes(size))
    tag = marker.encode()
    for at in range(0, size - len(tag), 64 * 1024):
        out[at : at + len(tag)] = tag
    return bytes(out)


async def test_a_photo_and_a_story_uploaded_on_one_node_are_downloaded_on_the_other(
    tmp_path: Path, s3_endpoint: str
) -> None:
    bucket = new_bucket(s3_endpoint)
    async with cluster(tmp_path, ("A", "B"), **node_settings(s3_endpoint, bucket, "passerelle/media")) as c:
        a, b = c.nodes
        stores = tmp_path / "clients"
        alice = await Client.register(a.url, stores / "alice", app="photo", handle="alice", password=PW)
        bob = await Client.register(b.url, stores / "bob", app="photo", handle="bob", password=PW)
        try:
            await alice.connect()
            await bob.connect()
            bob_sees = Watcher(bob)
            # Larger than one upload chunk (4 MiB), so it crosses as several segments.
            photo = marked("PHOTO-PLAINTEXT-MARKER", 9 * 1024 * 1024 + 4321)
            sent = await alice.media.send_image(bob.account_id, photo, name="cove.jpg", caption="the cove")
            got = await bob_sees.next(Message, lambda m: m.attachment is not None)
            assert (got.id, got.text) == (sent.id, "the cove")
            assert await bob.media.download(got) == photo  # node B serves what node A stored

            # A story posted through node B is viewed through node A.
            for one, other in ((alice, bob), (bob, alice)):
                await one.privacy.add_contact(other.account_id)
            story_photo = marked("STORY-PLAINTEXT-MARKER", 300_000)
            posted = await bob.stories.post_image(story_photo, caption="sunset")
            seen = await alice.stories.wait_for_story(author=bob.account_id)
            assert seen.id == posted.id
            assert await alice.stories.view(seen) == story_photo

            # Nothing reached either node's data directory: the blobs are in the bucket, as ciphertext.
            for node in ("node-A", "node-B"):
                blob_dir = tmp_path / node / "blobs"
                assert not blob_dir.exists() or not any(p.is_file() for p in blob_dir.rglob("*"))
            view = bucket_view(s3_endpoint, bucket)
            objects = await obstore.list(view, "passerelle/media/", chunk_size=1000).collect_async()
            assert len({o["path"].rsplit("/", 2)[1] for o in objects}) == 2  # the photo's blob, the story's
            assert sum(o["size"] for o in objects) >= len(photo) + len(story_photo)
            for found in objects:
                stored = bytes(await obstore.get_range_async(view, found["path"], start=0, end=found["size"]))
                assert b"PLAINTEXT-MARKER" not in stored
        finally:
            await alice.close()
            await bob.close()
