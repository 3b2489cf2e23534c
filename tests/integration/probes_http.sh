#!/usr/bin/env bash
# HTTP(S) probe against real nginx in a lab namespace (HTTP, HTTPS with a
# self-signed certificate made here, a 500 vhost), a listener that never
# answers, an endless body, TLS garbage, refused and unreachable hosts.
set -u
PL=loprh
. "$(dirname "$0")/probes_lib.bash"
trap pl_down EXIT
pl_up

openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=web.lab.test" \
	-keyout "$PL_RUN/key.pem" -out "$PL_RUN/cert.pem" >/dev/null 2>&1
mkdir -p "$PL_RUN/www"
echo "lightsout lab web: all good" >"$PL_RUN/www/index.html"
cat >"$PL_RUN/nginx.conf" <<CONF
daemon on;
pid $PL_RUN/nginx.pid;
error_log $PL_RUN/nginx.err;
worker_processes 1;
events { worker_connections 4096; }
http {
	access_log off;
	client_body_temp_path $PL_RUN/tmp; proxy_temp_path $PL_RUN/tmp; fastcgi_temp_path $PL_RUN/tmp;
	uwsgi_temp_path $PL_RUN/tmp; scgi_temp_path $PL_RUN/tmp;
	server { listen 203.0.113.10:80; listen [2001:db8:3::10]:80; root $PL_RUN/www; }
	server { listen 203.0.113.10:443 ssl; ssl_certificate $PL_RUN/cert.pem; ssl_certificate_key $PL_RUN/key.pem; root $PL_RUN/www; }
	server { listen 203.0.113.11:80; location / { return 500 "broken\n"; } }
	server { listen 203.0.113.11:8080; location / { return 302 http://203.0.113.10/; } }
}
CONF
mkdir -p "$PL_RUN/tmp"
# -e: errors before the config is read land in the file the message below shows
pl_exec s nginx -e "$PL_RUN/nginx.err" -c "$PL_RUN/nginx.conf" || pl_msg "nginx did not start: $(cat "$PL_RUN/nginx.err")"
pl_bg s python3 "$PL_DIR/probes_evil.py" silent 203.0.113.12 80
pl_bg s python3 "$PL_DIR/probes_evil.py" http-endless 203.0.113.13 80
pl_bg s python3 "$PL_DIR/probes_evil.py" tls-garbage 203.0.113.14 443
pl_wait_tcp 203.0.113.10 443
pl_wait_tcp 203.0.113.12 80
pl_wait_tcp 203.0.113.13 80
pl_wait_tcp 203.0.113.14 443

pl_expect "http 200" ok '^HTTP 200 in .*connect' http://203.0.113.10/
pl_expect "http over IPv6" ok '^HTTP 200' 'http://[2001:db8:3::10]/'
pl_expect "https 200 with cert expiry" ok '^HTTP 200 .*tls [0-9.]+.*cert expires 20[0-9][0-9]-' https://203.0.113.10/
pl_expect "http 500" error '^HTTP 500' http://203.0.113.11/
pl_expect "redirect not followed, 302 accepted" ok '^HTTP 302' http://203.0.113.11:8080/
pl_expect "connection refused" refused '^connect refused$' http://203.0.113.10:81/
pl_expect "never answers after accept" timeout '^no response' --timeout 1s http://203.0.113.12/
pl_expect "endless body is cut" ok '^HTTP 200 .*body cut' --timeout 3s http://203.0.113.13/
pl_expect "TLS garbage on 443" error '^TLS handshake failed' https://203.0.113.14/
pl_expect "plain HTTP server on the TLS port" error '^TLS handshake failed' https://203.0.113.10:80/
pl_expect "no host behind the router" unreachable 'No route to host' --timeout 5s http://203.0.113.200/
pl_expect "name that does not resolve" error '^dns: resolve failed' http://no-such-host.lab.test/

# the endless body and the silent server do not hold up a good check run with them
out=$(pl_probe --timeout 2s http://203.0.113.12/ http://203.0.113.13/ http://203.0.113.10/)
check "good check completes beside the bad ones" grep -q '"target":"http://203.0.113.10/".*"outcome":"ok"' <<<"$out"
check "three results for three targets" test "$(grep -c '"target"' <<<"$out")" -eq 3
# our User-Agent reaches the server
pl_exec s bash -c "cat > $PL_RUN/ua.conf" <<CONF
daemon on; pid $PL_RUN/ua.pid; error_log $PL_RUN/ua.err; events {}
http { log_format ua "\$http_user_agent"; access_log $PL_RUN/ua.log ua;
  client_body_temp_path $PL_RUN/tmp; proxy_temp_path $PL_RUN/tmp; fastcgi_temp_path $PL_RUN/tmp;
  uwsgi_temp_path $PL_RUN/tmp; scgi_temp_path $PL_RUN/tmp;
  server { listen 203.0.113.25:80; location / { return 200 "ok\n"; } } }
CONF
pl_exec s nginx -e "$PL_RUN/ua.err" -c "$PL_RUN/ua.conf"
pl_wait_tcp 203.0.113.25 80
pl_probe http://203.0.113.25/ >/dev/null
check "User-Agent is lightsout/VERSION" grep -q '^lightsout/[0-9]' "$PL_RUN/ua.log"
pl_summary
