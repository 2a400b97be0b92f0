"""Debian's chromium, headless, driven through the DevTools protocol on a pipe
(--remote-debugging-pipe: commands on its fd 3, replies and events on its fd 4, each
message JSON ended by a NUL byte). Standard library only.

    with Chromium(profile_dir) as browser:
        page = browser.new_page(1280, 800)
        page.navigate("http://127.0.0.1:8080/")
        page.evaluate("document.title")
        png = page.screenshot()
"""
import base64
import fcntl
import json
import os
import select
import shutil
import subprocess
import time


def find_chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


class DevToolsError(Exception):
    pass


class Chromium:
    def __init__(self, profile_dir, timeout=60.0):
        self.timeout = timeout
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()
        # Chromium's ends above 9, so that putting them on 3 and 4 clobbers neither.
        to_browser_r, from_browser_w = (self._above_9(to_browser_r),
                                        self._above_9(from_browser_w))
        args = ["--headless=new", "--remote-debugging-pipe", "--disable-gpu",
                "--disable-dev-shm-usage", "--no-first-run", "--no-default-browser-check",
                "--disable-extensions", "--disable-background-networking", "--mute-audio",
                "--hide-scrollbars", f"--user-data-dir={profile_dir}", "about:blank"]
        if os.geteuid() == 0:
            args.insert(0, "--no-sandbox")  # Chromium's sandbox refuses to run as root
        # The shell puts our pipe ends on fds 3 and 4, where Chromium expects them.
        script = (f'exec "$0" "$@" 3<&{to_browser_r} 4>&{from_browser_w} '
                  f'{to_browser_r}<&- {from_browser_w}>&-')
        self.log_path = os.path.join(profile_dir, "chromium.log")
        self._log = open(self.log_path, "wb")
        self.process = subprocess.Popen(["bash", "-c", script, find_chromium(), *args],
                                        pass_fds=(to_browser_r, from_browser_w),
                                        stdout=self._log, stderr=subprocess.STDOUT)
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._next_id = 0
        self._buffer = b""
        self.events = []
        self.call("Browser.getVersion")  # waits until it is up (the first start is slow)

    @staticmethod
    def _above_9(fd):
        high = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10)
        os.close(fd)
        return high

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        if self.process.poll() is None:
            try:
                self.call("Browser.close", timeout=10)
            except (DevToolsError, OSError):
                pass
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        for fd in (self._to_browser, self._from_browser):
            try:
                os.close(fd)
            except OSError:
                pass
        self._log.close()

    def _read_message(self, deadline):
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise DevToolsError("no answer from chromium in time")
            ready, _, _ = select.select([self._from_browser], [], [], left)
            if ready:
                data = os.read(self._from_browser, 1 << 20)
                if not data:
                    raise DevToolsError(f"chromium went away (see {self.log_path})")
                self._buffer += data
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def call(self, method, params=None, session=None, timeout=None):
        self._next_id += 1
        request = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            request["sessionId"] = session
        os.write(self._to_browser, json.dumps(request).encode() + b"\0")
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            message = self._read_message(deadline)
            if message.get("id") == self._next_id:
                if "error" in message:
                    raise DevToolsError(f"{method}: {message['error']}")
                return message.get("result", {})
            if "method" in message and len(self.events) < 1000:
                self.events.append(message)

    def new_page(self, width, height):
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})
        return Page(self, session["sessionId"], width, height)


class Page:
    def __init__(self, browser, session, width, height):
        self.browser = browser
        self.session = session
        self.call("Page.enable")
        self.call("Emulation.setDeviceMetricsOverride",
                  {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})

    def call(self, method, params=None, timeout=None):
        return self.browser.call(method, params, session=self.session, timeout=timeout)

    def navigate(self, url):
        result = self.call("Page.navigate", {"url": url})
        if result.get("errorText"):
            raise DevToolsError(f"navigate {url}: {result['errorText']}")

    def evaluate(self, expression, await_promise=False):
        result = self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True,
                                                "awaitPromise": await_promise})
        if "exceptionDetails" in result:
            raise DevToolsError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, expression, timeout, what):
        """Until `expression` is truthy; it may throw meanwhile (the page still loading)."""
        deadline = time.monotonic() + timeout
        last = None
        while True:
            try:
                value = self.evaluate(expression)
                if value:
                    return value
            except DevToolsError as e:
                last = e
            if time.monotonic() > deadline:
                raise DevToolsError(f"timed out waiting for {what} ({expression}; {last})")
            time.sleep(0.1)

    def screenshot(self):
        data = self.call("Page.captureScreenshot", {"format": "png"})["data"]
        return base64.b64decode(data)
