# Shared by the load benchmarks: wrk runs normalised to "req/s p50_ms p99_ms non2xx",
# and a browser-like login with curl that prints the session cookie.
command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }

to_ms() { awk -v v="$1" 'BEGIN{ if (v ~ /us$/) {sub(/us$/,"",v); print v/1000} else if (v ~ /ms$/) {sub(/ms$/,"",v); print v+0} else if (v ~ /s$/) {sub(/s$/,"",v); print v*1000} else print v }'; }

# wrk_run URL CONNECTIONS SECONDS [HEADER] -> "rps p50 p99 non2xx"
wrk_run() {
  local out
  if [ -n "${4:-}" ]; then out=$(wrk -t2 -c"$2" -d"$3"s --latency -H "$4" "$1"); else out=$(wrk -t2 -c"$2" -d"$3"s --latency "$1"); fi
  local rps p50 p99 non2xx
  rps=$(echo "$out" | awk '/Requests\/sec/{print $2}')
  p50=$(to_ms "$(echo "$out" | awk '$1=="50%"{print $2}')")
  p99=$(to_ms "$(echo "$out" | awk '$1=="99%"{print $2}')")
  non2xx=$(echo "$out" | awk '/Non-2xx/{print $5}')
  echo "$rps $p50 $p99 ${non2xx:-0}"
}

# login BASE USER PASSWORD JAR -> prints "Cookie: sb_session=…". Officials
# then pass the second step: the code of the secret the enrolment page shows,
# or of the demo officials' secret (`$TOTP`, the totp_code example, prints it).
login() {
  local token session page secret code action
  token=$(curl -s -c "$4" "$1/login" | grep -o 'name="_csrf" value="[0-9a-f]*"' | head -1 | sed 's/.*value="\([0-9a-f]*\)"/\1/')
  curl -s -b "$4" -c "$4" -o /dev/null --data-urlencode "_csrf=$token" --data-urlencode "username=$2" --data-urlencode "password=$3" "$1/login"
  page=$(curl -s -b "$4" -c "$4" "$1/login/2fa")
  if echo "$page" | grep -q 'action="/login/2fa'; then
    token=$(echo "$page" | grep -o 'name="_csrf" value="[0-9a-f]*"' | head -1 | sed 's/.*value="\([0-9a-f]*\)"/\1/')
    secret=$(echo "$page" | grep -o 'id="totp-secret">[A-Z2-7 ]*' | sed 's/.*>//; s/ //g')
    code=$(${TOTP:-./target/release/examples/totp_code} $secret)
    action=/login/2fa; [ -n "$secret" ] && action=/login/2fa/enrol
    curl -s -b "$4" -c "$4" -o /dev/null --data-urlencode "_csrf=$token" --data-urlencode "code=$code" "$1$action"
  fi
  session=$(awk '$6=="sb_session"{print $7}' "$4")
  [ -n "$session" ] || { echo "login of $2 failed" >&2; return 1; }
  echo "Cookie: sb_session=$session"
}

wait_up() { for _ in $(seq 1 150); do curl -sf "$1" >/dev/null && return 0; sleep 0.2; done; echo "server at $1 did not start" >&2; return 1; }
