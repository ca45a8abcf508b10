"""Headless Chromium driven over the DevTools protocol (aiohttp's websocket client): open pages,
click, type, press Enter, read the DOM, take screenshots — what a person does in the console."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp

FLAGS = (
    "--headless",
    "--no-sandbox",  # tests may run as root in a container
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--remote-debugging-port=0",
    "--remote-allow-origins=*",
)


class Page:
    """One tab: commands are sent over its websocket; events are kept for waiting on."""

    def __init__(self, socket: aiohttp.ClientWebSocketResponse) -> None:
        self.socket = socket
        self._ids = itertools.count(1)
        self._waiting: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._events: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for message in self.socket:
            if message.type != aiohttp.WSMsgType.TEXT:
                continue
            data = json.loads(message.data)
            if "id" in data and data["id"] in self._waiting:
                self._waiting.pop(data["id"]).set_result(data)
            elif "method" in data:
                await self._events.put(data)

    async def send(self, method: str, **params: Any) -> dict[str, Any]:
        number = next(self._ids)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiting[number] = future
        await self.socket.send_json({"id": number, "method": method, "params": params})
        reply = await asyncio.wait_for(future, 30)
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        return dict(reply.get("result", {}))

    def _drain(self) -> None:
        while not self._events.empty():
            self._events.get_nowait()

    async def _loaded(self, timeout: float = 30) -> None:
        async def wait() -> None:
            while True:
                event = await self._events.get()
                if event["method"] == "Page.loadEventFired":
                    return

        await asyncio.wait_for(wait(), timeout)

    async def goto(self, url: str) -> None:
        self._drain()
        await self.send("Page.navigate", url=url)
        await self._loaded()

    async def js(self, expression: str) -> Any:
        reply = await self.send(
            "Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True
        )
        if "exceptionDetails" in reply:
            raise RuntimeError(f"{expression}: {reply['exceptionDetails']}")
        return reply["result"].get("value")

    async def text(self, selector: str) -> str:
        value = await self.js(
            f"(function(){{var e=document.querySelector({json.dumps(selector)});"
            "return e===null?null:e.innerText;})()"
        )
        if value is None:
            raise AssertionError(f"nothing matches {selector} on {await self.js('location.href')}")
        return str(value)

    async def texts(self, selector: str) -> list[str]:
        found = await self.js(
            f"Array.from(document.querySelectorAll({json.dumps(selector)})).map(e=>e.innerText)"
        )
        return [str(t) for t in found]

    async def _centre(self, selector: str) -> tuple[float, float]:
        box = await self.js(
            f"(function(){{var e=document.querySelector({json.dumps(selector)});"
            "if(!e)return null;e.scrollIntoView({block:'center'});"
            "var r=e.getBoundingClientRect();return [r.left+r.width/2,r.top+r.height/2];})()"
        )
        if box is None:
            raise AssertionError(f"nothing to click: {selector}")
        return float(box[0]), float(box[1])

    async def click(self, selector: str, *, navigates: bool = True) -> None:
        """A mouse click in the middle of the element (and wait for the page it opens)."""
        x, y = await self._centre(selector)
        self._drain()
        for kind in ("mousePressed", "mouseReleased"):
            await self.send(
                "Input.dispatchMouseEvent", type=kind, x=x, y=y, button="left", clickCount=1
            )
        if navigates:
            await self._loaded()

    async def type(self, selector: str, text: str) -> None:
        """Click into the field, select what is there, type over it."""
        await self.click(selector, navigates=False)
        await self.js(f"document.querySelector({json.dumps(selector)}).select()")
        await self.send("Input.insertText", text=text)

    async def select(self, selector: str, value: str) -> None:
        """Choose an option of a <select> as the keyboard would (focus, then the value)."""
        await self.js(
            f"(function(){{var e=document.querySelector({json.dumps(selector)});e.focus();"
            f"e.value={json.dumps(value)};e.dispatchEvent(new Event('change',{{bubbles:true}}));}})()"
        )

    async def press_enter(self) -> None:
        self._drain()
        common = {"key": "Enter", "code": "Enter", "windowsVirtualKeyCode": 13}
        await self.send("Input.dispatchKeyEvent", type="keyDown", text="\r", **common)
        await self.send("Input.dispatchKeyEvent", type="keyUp", **common)
        await self._loaded()

    async def press_tab(self) -> None:
        common = {"key": "Tab", "code": "Tab", "windowsVirtualKeyCode": 9}
        await self.send("Input.dispatchKeyEvent", type="keyDown", **common)
        await self.send("Input.dispatchKeyEvent", type="keyUp", **common)

    async def wait_for(self, expression: str, timeout: float = 20) -> Any:
        """Poll a JavaScript expression until it is truthy (the live table's updates)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            value = await self.js(expression)
            if value:
                return value
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"still false after {timeout} s: {expression}")
            await asyncio.sleep(0.25)

    async def screenshot(self, path: Path, width: int) -> bytes:
        """The whole page at `width` CSS pixels, as PNG bytes (also written to `path`)."""
        height = int(await self.js("document.documentElement.scrollHeight"))
        await self.send(
            "Emulation.setDeviceMetricsOverride",
            width=width,
            height=max(height, 600),
            deviceScaleFactor=1,
            mobile=False,
        )
        height = int(await self.js("document.documentElement.scrollHeight"))
        await self.send(
            "Emulation.setDeviceMetricsOverride",
            width=width,
            height=min(max(height, 600), 8000),
            deviceScaleFactor=1,
            mobile=False,
        )
        shot = await self.send("Page.captureScreenshot", format="png")
        data = base64.b64decode(shot["data"])
        await asyncio.to_thread(path.parent.mkdir, parents=True, exist_ok=True)
        await asyncio.to_thread(path.write_bytes, data)
        return data

    async def set_width(self, width: int, height: int = 900) -> None:
        await self.send(
            "Emulation.setDeviceMetricsOverride",
            width=width,
            height=height,
            deviceScaleFactor=1,
            mobile=False,
        )

    async def close(self) -> None:
        await self.socket.close()
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader


async def _devtools_port(profile: Path, process: asyncio.subprocess.Process) -> int:
    port_file = profile / "DevToolsActivePort"
    for _ in range(300):
        if process.returncode is not None:
            raise AssertionError(f"chromium exited with {process.returncode}")
        text = await asyncio.to_thread(lambda: port_file.read_text() if port_file.exists() else "")
        if text.strip():
            return int(text.split()[0])
        await asyncio.sleep(0.1)
    raise AssertionError("chromium did not open its DevTools port")


@contextlib.asynccontextmanager
async def browser(binary: str, profile: Path, width: int = 1400) -> AsyncIterator[Page]:
    """Headless Chromium with one page and its own profile folder, closed afterwards."""
    if True:
        process = await asyncio.create_subprocess_exec(
            binary,
            *FLAGS,
            f"--user-data-dir={profile}",
            f"--window-size={width},900",
            "about:blank",
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        try:
            port = await _devtools_port(profile, process)
            async with aiohttp.ClientSession() as http:
                async with http.get(f"http://127.0.0.1:{port}/json/list") as response:
                    targets = await response.json()
                target = next(t for t in targets if t.get("type") == "page")
                socket = await http.ws_connect(target["webSocketDebuggerUrl"], max_msg_size=0)
                page = Page(socket)
                try:
                    await page.send("Page.enable")
                    await page.set_width(width)
                    yield page
                finally:
                    await page.close()
        finally:
            if process.returncode is None:
                process.kill()
            await process.wait()
