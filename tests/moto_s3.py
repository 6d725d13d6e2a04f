"""A local S3-compatible server for tests: moto in server mode, in a child process on a free port.

``s3_endpoint`` (a session fixture in tests/conftest.py) starts it once; each test takes a bucket of
its own with ``new_bucket``. When moto cannot start, the tests that need it are skipped, saying why.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx
from obstore.store import S3Store

from tests.ports import reserved_port

CREDENTIALS = {"access_key_id": "passerelle-test", "secret_access_key": "passerelle-test-secret"}
REGION = "us-east-1"
START_TIMEOUT_S = 60.0


@contextlib.contextmanager
def moto_server() -> Iterator[str]:
    """Run ``python -m moto.server`` until the block ends; yields its endpoint URL. Raises
    RuntimeError (with moto's own words) if it does not answer in time."""
    port = reserved_port()
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x"}
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if process.poll() is not None:
                error = process.stderr.read().decode(errors="replace")[-500:] if process.stderr else ""
                raise RuntimeError(f"moto exited with {process.returncode}: {error}")
            try:
                httpx.get(f"{endpoint}/moto-api/", timeout=1.0)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"moto did not answer on {endpoint} within {START_TIMEOUT_S} s"
                    ) from None
                time.sleep(0.1)
        yield endpoint
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stderr:
            process.stderr.close()


def new_bucket(endpoint: str) -> str:
    """A fresh, empty bucket on the test server (moto takes unsigned requests)."""
    name = f"passerelle-{secrets.token_hex(6)}"
    httpx.put(f"{endpoint}/{name}", timeout=10.0).raise_for_status()
    return name


def bucket_view(endpoint: str, bucket: str) -> S3Store:
    """The bucket as a plain obstore client sees it (to look behind the adapter)."""
    return S3Store(
        bucket,
        endpoint=endpoint,
        region=REGION,
        access_key_id=CREDENTIALS["access_key_id"],
        secret_access_key=CREDENTIALS["secret_access_key"],
        client_options={"allow_http": True},
    )


def node_settings(endpoint: str, bucket: str, prefix: str) -> dict[str, Any]:
    """The settings that put a node's blobs in ``s3://bucket/prefix`` on the test server."""
    return {
        "blob_url": f"s3://{bucket}/{prefix}",
        "s3_endpoint": endpoint,
        "s3_region": REGION,
        "s3_access_key_id": CREDENTIALS["access_key_id"],
        "s3_secret_access_key": CREDENTIALS["secret_access_key"],
    }
