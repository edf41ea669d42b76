"""The server bench/proxy runs in a machine: the smallest keep-alive HTTP/1.1 server
asyncio makes (one thread, fixed 2-byte answer), so the proxy, not the server, is what
the benchmark stresses. Usage: python3 server.py PORT"""

import asyncio
import sys

ANSWER = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok"


async def serve(reader, writer):
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            if not head:
                break
            writer.write(ANSWER)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    writer.close()


async def main(port):
    server = await asyncio.start_server(serve, "0.0.0.0", port)
    async with server:
        await server.serve_forever()


asyncio.run(main(int(sys.argv[1])))
