# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Blocked-event-loop workload: an asyncio loop serving a handler over and over.
#   block: the handler calls time.sleep(0.3) (a synchronous call: the loop is stuck 300 ms),
#          then the loop idles 0.2 s in its selector (asyncio.sleep)
#   await: the near miss: the handler awaits asyncio.sleep(0.3) (the loop is free) and calls
#          time.sleep(0.03) (blocks it 30 ms, under the finding's 100 ms)
# Prints "ready" once the loop runs, then "blocks N" (handler calls) when stdin closes.
import asyncio
import sys
import threading
import time

mode = sys.argv[1]
calls = 0


async def handler():
    global calls
    calls += 1
    if mode == "block":
        time.sleep(0.3)
    else:
        await asyncio.sleep(0.3)
        time.sleep(0.03)


async def serve():
    while True:
        await handler()
        await asyncio.sleep(0.2 if mode == "block" else 0.0)


async def main():
    task = asyncio.ensure_future(serve())
    stop = asyncio.get_running_loop().create_future()
    loop = asyncio.get_running_loop()
    threading.Thread(target=lambda: (sys.stdin.read(),
                                     loop.call_soon_threadsafe(stop.set_result, None)),
                     daemon=True).start()
    print("ready", flush=True)
    await stop
    task.cancel()


asyncio.run(main())
print("blocks %d" % calls, flush=True)
