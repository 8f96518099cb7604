#!/usr/bin/env python3
"""A webhook receiver for the tests (tests/tests/api/webhooks.rs), verifying every message
with an implementation of the Standard Webhooks signature that is not ours: the
`standardwebhooks` package from PyPI (pinned in .ci/run).

It listens on 127.0.0.1, on a free port it prints as its first line, and keeps one mailbox
per name:

  POST /hooks/<name>              a webhook: verified with the mailbox's secret, recorded, and
                                  answered with the next status of the mailbox's plan (401
                                  when the signature does not verify)
  PUT  /control/<name>/secret     the body is the secret (`whsec_…`)
  PUT  /control/<name>/plan       {"statuses": [500, …], "default": 200, "delay_ms": 0}
  GET  /control/<name>/received   what arrived: [{"id", "timestamp", "signature",
                                  "verified", "error", "payload", "answered"}, …]

A 5xx answer's body is 5000 bytes long, so the server's 1 KB bound on what it keeps shows.
"""
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

try:
    from standardwebhooks.webhooks import Webhook
except ImportError as e:  # the test checks first; this is for a person running it by hand
    print(f"standardwebhooks is not installed: {e}", file=sys.stderr)
    sys.exit(3)

LOCK = threading.Lock()
MAILBOXES = {}


def mailbox(name):
    return MAILBOXES.setdefault(
        name, {"secret": None, "statuses": [], "default": 200, "delay_ms": 0, "received": []}
    )


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, body=b"", content_type="text/plain"):
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            # The server reads the start of an answer only, and may hang up on the rest.
            self.close_connection = True

    def body(self):
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def parts(self):
        return [p for p in self.path.split("?")[0].split("/") if p]

    def do_PUT(self):
        parts = self.parts()
        body = self.body()
        if len(parts) != 3 or parts[0] != "control":
            return self.reply(404)
        with LOCK:
            box = mailbox(parts[1])
            if parts[2] == "secret":
                box["secret"] = body.decode()
            elif parts[2] == "plan":
                plan = json.loads(body)
                box["statuses"] = list(plan.get("statuses", []))
                box["default"] = plan.get("default", 200)
                box["delay_ms"] = plan.get("delay_ms", 0)
            else:
                return self.reply(404)
        self.reply(204)

    def do_GET(self):
        parts = self.parts()
        if len(parts) != 3 or parts[0] != "control" or parts[2] != "received":
            return self.reply(404)
        with LOCK:
            received = list(mailbox(parts[1])["received"])
        self.reply(200, json.dumps(received).encode(), "application/json")

    def do_POST(self):
        parts = self.parts()
        body = self.body()
        if len(parts) != 2 or parts[0] != "hooks":
            return self.reply(404)
        headers = {k.lower(): v for k, v in self.headers.items()}
        with LOCK:
            box = mailbox(parts[1])
            secret = box["secret"]
            delay = box["delay_ms"]
        verified, error, payload = False, None, None
        if secret is None:
            error = "no secret set for this mailbox"
        else:
            try:
                payload = Webhook(secret).verify(body, headers)
                verified = True
            except Exception as e:  # WebhookVerificationError, or a malformed header
                error = f"{type(e).__name__}: {e}"
        if payload is None:
            payload = body.decode(errors="replace")
        if delay:
            time.sleep(delay / 1000)
        with LOCK:
            status = box["statuses"].pop(0) if box["statuses"] else box["default"]
            if not verified:
                status = 401
            box["received"].append(
                {
                    "id": headers.get("webhook-id"),
                    "timestamp": headers.get("webhook-timestamp"),
                    "signature": headers.get("webhook-signature"),
                    "verified": verified,
                    "error": error,
                    "payload": payload,
                    "answered": status,
                }
            )
        self.reply(status, b"x" * 5000 if status >= 500 else b"ok")


def main():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
