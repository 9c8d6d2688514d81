# Shared by the benchmark scripts (source it): installs what they need
# (Debian, as root), starts nginx on 127.0.0.1 (one worker, keep-alive),
# answering 200 "ok\n" to every path at once (request bodies up to 64 MiB
# read and dropped) and, under /slow/, after
# 100 ms (echo_sleep, from libnginx-mod-http-echo), and builds tb-host in
# release.
#
# Sets: $work (a temp dir, removed on exit), $port, $bin (tb-host).
# Provides: make_urls N FILE [PREFIX] (writes N distinct URLs to FILE,
# under /PREFIX/, default item); accepted (connections nginx has accepted).

need=()
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || need+=(nginx)
command -v curl >/dev/null || need+=(curl)
[ -x /usr/bin/time ] || need+=(time)
command -v bc >/dev/null || need+=(bc)
[ -f /usr/lib/nginx/modules/ngx_http_echo_module.so ] || need+=(libnginx-mod-http-echo)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

work=$(mktemp -d)
trap 'kill $(cat "$work/nginx.pid" 2>/dev/null) 2>/dev/null || true; rm -rf "$work"' EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >"$work/nginx.conf" <<CONF
load_module /usr/lib/nginx/modules/ngx_http_echo_module.so;
worker_processes 1;
worker_rlimit_nofile 65536;
pid $work/nginx.pid;
error_log $work/error.log;
events { worker_connections 16384; }
http {
  access_log off;
  keepalive_requests 1000000;
  keepalive_timeout 60s;
  client_body_temp_path $work; proxy_temp_path $work; fastcgi_temp_path $work;
  uwsgi_temp_path $work; scgi_temp_path $work;
  server {
    listen 127.0.0.1:$port backlog=16384;
    client_max_body_size 64m;
    location / { return 200 "ok\n"; }
    location /slow/ { echo_sleep 0.1; echo ok; }
    location = /nginx-status { stub_status; }
  }
}
CONF
/usr/sbin/nginx -c "$work/nginx.conf"

cargo build --release -q -p tb-host-cli
bin=target/release/tb-host

# accepted: how many connections nginx has accepted so far, this query's own
# included (so one more between two of them).
accepted() {
  curl -s "http://127.0.0.1:$port/nginx-status" | awk 'NR == 3 { print $1 }'
}

make_urls() {
  seq 0 $(($1 - 1)) | sed "s|^|http://127.0.0.1:$port/${3:-item}/|" >"$2"
}
