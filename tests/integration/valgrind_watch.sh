#!/usr/bin/env bash
# The daemon's main paths under valgrind (memcheck): watch with every
# probe kind against loopback services that answer, refuse or stay
# silent, the HTTP server scraped while it runs, then SIGTERM.  All of it
# in a namespace of its own: whatever listens on the host's loopback
# plays no part.  Root only.  Any
# memory error or definite leak fails.  Uses the plain build (valgrind
# and ASan do not mix): VALGRIND_LIGHTSOUT, default build/lightsout.
set -u
here=$(cd "$(dirname "$0")/../.." && pwd)
. "$here/tests/integration/lib.bash"
bin=${VALGRIND_LIGHTSOUT:-$here/build/lightsout}
command -v valgrind >/dev/null || { echo "valgrind not installed"; echo "0 passed, 1 failed"; exit 1; }
[ -x "$bin" ] || { echo "no $bin: build first"; echo "0 passed, 1 failed"; exit 1; }
[ "$(id -u)" = 0 ] || { echo "needs root (network namespaces)"; echo "0 passed, 1 failed"; exit 1; }
NS=lovg
work=$(mktemp -d /tmp/lightsout-valgrind.XXXXXX)
cleanup() {
	ns_teardown $NS
	rm -rf "$work"
}
trap cleanup EXIT INT TERM
ns_add $NS
nx() { ip netns exec $NS "$@"; }

# a TCP listener that answers HTTP and SMTP-ish greetings, on free ports
ip netns exec $NS python3 - "$work" <<'PY' &
import socket, sys, threading, os
def serve(sock, reply):
    while True:
        c, _ = sock.accept()
        try:
            c.settimeout(2)
            if reply.startswith(b"220"):
                c.sendall(reply)
                c.recv(512); c.sendall(b"250 ok\r\n"); c.recv(512); c.sendall(b"221 bye\r\n")
            else:
                c.recv(4096); c.sendall(reply)
        except Exception:
            pass
        c.close()
ports = []
for reply in (b"HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\nhello", b"220 test ESMTP\r\n"):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(16)
    ports.append(s.getsockname()[1])
    threading.Thread(target=serve, args=(s, reply), daemon=True).start()
open(os.path.join(sys.argv[1], "ports"), "w").write(" ".join(map(str, ports)))
threading.Event().wait(120)
PY
wait_until 10 test -s "$work/ports" || { echo "no test servers"; echo "0 passed, 1 failed"; exit 1; }
read -r http_port smtp_port <"$work/ports"
api_port=$(nx python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

cat >"$work/w.yaml" <<YAML
vantage: valgrind
store: $work/store.db
listen: 127.0.0.1:$api_port
interval: 1s
timeout: 500ms
networks:
  - name: loop
    prefixes: [127.0.0.0/8]
    targets:
      - {name: ping, role: router, kind: icmp, host: 127.0.0.1, count: 2}
      - {name: web, role: web, kind: http, url: "http://127.0.0.1:$http_port/", contains: hello}
      - {name: closed, role: web, kind: tcp, host: 127.0.0.1, port: 1}
      - {name: mail, role: mail, kind: smtp, host: 127.0.0.1, port: $smtp_port}
      - {name: ns, role: dns, kind: dns, server: 127.0.0.1, query: "example. SOA"}
      - {name: path, role: router, kind: trace, host: 127.0.0.1}
controls:
  - {name: self, kind: icmp, host: 127.0.0.1}
YAML
# --for bounds the run; the script ends it with SIGTERM once it has seen
# what it needs (valgrind makes start-up and rounds slow, a loaded machine
# more so)
ip netns exec $NS valgrind --quiet --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
	--show-leak-kinds=definite --track-fds=no --log-file="$work/vg.log" \
	"$bin" watch -c "$work/w.yaml" --for 120s 2>"$work/watch.log" &
vg=$! # valgrind itself (not through nx: ip netns exec execs it)
code() { nx curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://127.0.0.1:$api_port$1"; }
serving() { [ "$(code /healthz)" = 200 ]; }
measured() { sqlite3 -batch -noheader -cmd '.timeout 2000' "$work/store.db" "SELECT count(DISTINCT target) FROM measurements" 2>/dev/null; }
all_measured() { [ "$(measured)" = 7 ]; }
check "watch under valgrind serves /healthz" wait_until 60 serving
check "every probe kind ran (7 targets measured)" wait_until 60 all_measured
for path in /metrics / /api/v1/status /api/v1/incidents /network/loop /healthz; do
	c=$(code "$path")
	if [ "$c" = 200 ]; then ok "GET $path answered under valgrind"; else bad "GET $path: $c"; fi
done
kill -TERM "$vg"
wait "$vg"
rc=$?
if [ $rc -eq 0 ]; then ok "watch under valgrind stops on SIGTERM: no memory errors, no definite leaks"; else
	bad "watch under valgrind exited $rc"; cat "$work/vg.log"; tail -20 "$work/watch.log"; fi
it_summary
