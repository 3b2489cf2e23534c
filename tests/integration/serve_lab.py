#!/usr/bin/env python3
"""Small servers for the HTTP-side integration tests (serve_http.sh,
serve_alerts.sh).  Each runs inside a lab namespace on a lab address (or on
the vantage namespace's loopback), never on a real address, until killed.

  serve_lab.py http ADDR PORT          a tiny web site (200, an HTML page)
  serve_lab.py smtp ADDR PORT BANNER   BANNER as the 220 greeting, 250 to
                                       anything, 221 to QUIT
  serve_lab.py hook ADDR PORT LOG      webhook receiver: appends each POST
                                       body (one JSON document) as a line
                                       to LOG, answers 200 (415 unless the
                                       Content-Type is application/json)
"""
import http.server
import socket
import socketserver
import sys
import threading


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class Site(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = b"<!doctype html><title>lab site</title><p>hello from the lab\n"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *a):
        pass


def hook_handler(log):
    out = open(log, "a")
    lock = threading.Lock()

    class Hook(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            n = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(min(n, 1 << 20))
            # the documented body: a JSON document, said so
            if self.headers.get("Content-Type", "").split(";")[0].strip() != "application/json":
                self.send_response(415)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            with lock:
                out.write(body.decode("utf-8", "replace").replace("\n", " ") + "\n")
                out.flush()
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *a):
            pass

    return Hook


def smtp(addr, port, banner):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port))
    s.listen(64)

    def talk(c):
        try:
            c.settimeout(5)
            c.sendall(b"220 " + banner.encode() + b"\r\n")
            for _ in range(8):
                data = c.recv(1024)
                if not data:
                    return
                if data.upper().startswith(b"QUIT"):
                    c.sendall(b"221 bye\r\n")
                    return
                c.sendall(b"250 ok\r\n")
        except OSError:
            pass
        finally:
            c.close()

    while True:
        c, _ = s.accept()
        threading.Thread(target=talk, args=(c,), daemon=True).start()


def main():
    mode, addr, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    if mode == "http":
        Server((addr, port), Site).serve_forever()
    elif mode == "smtp":
        smtp(addr, port, sys.argv[4])
    elif mode == "hook":
        Server((addr, port), hook_handler(sys.argv[4])).serve_forever()
    else:
        sys.exit("unknown mode " + mode)


if __name__ == "__main__":
    main()
