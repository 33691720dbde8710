#!/usr/bin/env python3
"""MinIO's command line over rclone's S3 server: ``minio server DIR --address :PORT``.

rclone listens on loopback; this front accepts connections on PORT, answers a connection whose
first request is ``GET /minio/health/...`` with 200 itself, and splices every other connection
to rclone unchanged (S3 signatures cover the Host header, so nothing is rewritten).
"""

import asyncio
import os
import shutil
import subprocess
import sys

BACKEND = ("127.0.0.1", 9901)


async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        writer.close()


async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    first = await reader.readline()
    if first.startswith(b"GET /minio/health/"):
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        await writer.drain()
        writer.close()
        return
    try:
        up_reader, up_writer = await asyncio.open_connection(*BACKEND)
    except OSError:
        writer.close()
        return
    up_writer.write(first)
    await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))


async def main(port: int) -> None:
    server = await asyncio.start_server(handle, "0.0.0.0", port)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    args = sys.argv[1:]
    if not args or args[0] != "server":
        sys.exit("usage: minio server DIR [--address :PORT]")
    directory, port = args[1], 9000
    if "--address" in args:
        port = int(args[args.index("--address") + 1].rsplit(":", 1)[1])
    key = f"{os.environ['MINIO_ROOT_USER']},{os.environ['MINIO_ROOT_PASSWORD']}"
    rclone = shutil.which("rclone") or "rclone"
    subprocess.Popen(
        [
            rclone,
            "serve",
            "s3",
            "--addr",
            f"{BACKEND[0]}:{BACKEND[1]}",
            "--auth-key",
            key,
            "--config",
            "/dev/null",
            directory,
        ]
    )
    asyncio.run(main(port))
