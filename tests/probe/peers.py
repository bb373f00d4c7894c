"""Python `websockets` echo peers for the prober (tests/probe/run.py).

  python peers.py server PORT   an echo server on 127.0.0.1:PORT
  python peers.py client URL    an echo client: connects, sends back every message,
                                ends when the server closes
"""
import asyncio
import sys


async def server(port):
    from websockets.asyncio.server import serve

    async def echo(ws):
        async for message in ws:
            await ws.send(message)

    # No compression (the prober offers none) and no size limit below the prober's
    # largest message.
    async with serve(echo, "127.0.0.1", port, max_size=16 << 20, compression=None):
        print("python websockets echo server on", port, flush=True)
        await asyncio.get_running_loop().create_future()


async def client(url):
    from websockets.asyncio.client import connect

    try:
        async with connect(url, max_size=16 << 20, compression=None, open_timeout=5) as ws:
            async for message in ws:
                await ws.send(message)
    except Exception as e:  # the prober sends invalid handshakes on purpose
        print("client ended:", type(e).__name__, e, file=sys.stderr)


if __name__ == "__main__":
    mode, arg = sys.argv[1], sys.argv[2]
    asyncio.run(server(int(arg)) if mode == "server" else client(arg))
