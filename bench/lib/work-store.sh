# Shared by bench scripts that build again in a finished bench/slow-link.sh work directory
# (sourced, not run; needs REPO, and wait_port from bench/lib/rounds.sh).
#
# serve_work_store WORK K: serves WORK's CI store again (its nginx; ci-store.sh sourced for
# NGINX and the project's links) and sets PORT (nginx's first server: HTTP/2's when slow-link.sh
# ran with HTTP2=1), PROXY_PORT (where dev-$K's policy reaches the store through the slow
# link; the caller starts tests/support/slowlink.py there, its pid in PROXY_PID), NGINX_PID,
# and a trap that stops both on exit.
# generated_launcher D: the launcher path D/obj.pristine's Ninja files were generated with
# (before ` cc --`), which a script replaces with the binary it runs.

serve_work_store() {
  local work=$1 k=$2
  PORT=$(grep -o 'listen 127.0.0.1:[0-9]*' "$work/nginx/nginx.conf" | head -1 | cut -d: -f2)
  PROXY_PORT=$(grep -o '127.0.0.1:[0-9]*' "$work/dev-$k/src/cached-ninja.toml" | cut -d: -f2)
  # shellcheck source=bench/lib/ci-store.sh
  source "$REPO/bench/lib/ci-store.sh"
  "$NGINX" -p "$work/nginx" -e "$work/nginx/error.log" -c "$work/nginx/nginx.conf" &
  NGINX_PID=$!
  PROXY_PID=
  trap 'kill $NGINX_PID $PROXY_PID 2>/dev/null || true' EXIT
  wait_port "$PORT"
}

generated_launcher() {
  local d=$1 generated
  generated=$(grep -rhoE '[^ ]*/cached-ninja cc --' --include='*.ninja' "$d/obj.pristine" | head -1)
  [ -n "$generated" ] || { echo "no launcher command in $d/obj.pristine" >&2; return 1; }
  echo "${generated% cc --}"
}
