#!/usr/bin/env bash
# The real atuin CLI against our worker: register, import, sync; a second host logs in with the
# key and pulls; a delete and a kv set on one host reach the other; a terrapin-core host reads
# what atuin wrote. Needs ATUIN_BIN (atuin 18.24.x) and TERRAPIN_URL (tests/with-worker.mjs);
# skips without ATUIN_BIN.
set -euo pipefail
if [ -z "${ATUIN_BIN:-}" ]; then
  echo "atuin compat: skipped (set ATUIN_BIN to an atuin 18.24.x binary to run it)"
  exit 0
fi
: "${TERRAPIN_URL:?run me through node tests/with-worker.mjs}"
root="$(cd "$(dirname "$0")/../.." && pwd)"
hosts=$(mktemp -d)
trap 'rm -rf "$hosts"' EXIT
fails=0 passes=0

mk() {
  local h=$hosts/$1
  mkdir -p "$h/home" "$h/config/atuin" "$h/data"
  cat > "$h/config/atuin/config.toml" <<EOC
sync_address = "$TERRAPIN_URL"
auto_sync = false
update_check = false
[sync]
records = true
EOC
}
# Each simulated host has its own HOME and XDG dirs; ATUIN_SESSION stands in for the shell hook.
on() {
  local h=$hosts/$1; shift
  ATUIN_SESSION=0190a4f0aaaa7bbbbccccddddeeee0$RANDOM HOME=$h/home XDG_CONFIG_HOME=$h/config \
    XDG_DATA_HOME=$h/data ATUIN_CONFIG_DIR=$h/config/atuin "$ATUIN_BIN" "$@" </dev/null
}
check() { # name, expected, actual
  if [ "$2" = "$3" ]; then passes=$((passes + 1)); echo "ok - $1"
  else fails=$((fails + 1)); printf 'not ok - %s\n  expected: %q\n  actual:   %q\n' "$1" "$2" "$3"; fi
}

user="compat$RANDOM$RANDOM" pass="correct horse $RANDOM"
mk a; mk b
on a register -u "$user" -e "$user@example.invalid" -p "$pass" >/dev/null
printf 'echo one\nls -la\ngit status\ncargo build\n' > "$hosts/a/home/.bash_history"
HISTFILE=$hosts/a/home/.bash_history on a import bash >/dev/null 2>&1
on a kv set -k colour blue
on a sync >/dev/null
key=$(on a key --base64)

on b login -u "$user" -p "$pass" -k "$key" >/dev/null
on b sync >/dev/null
check "second host pulls all history" $'cargo build\necho one\ngit status\nls -la' \
  "$(on b history list --cmd-only | sort)"
check "second host pulls kv" "blue" "$(on b kv get colour)"

# A delete and a kv write on b reach a.
on b search --delete "git status" >/dev/null
on b kv set -k colour green
on b sync >/dev/null
on a sync >/dev/null
check "delete reaches the first host" "0" "$(on a history list --cmd-only | grep -c '^git status$' || true)"
check "kv write reaches the first host" "green" "$(on a kv get colour)"

# A terrapin-core host with the 24-word phrase reads what atuin wrote.
phrase=$(on a key)
cargo build -q -p terrapin-tests --bin terrapin-pull
pulled=$("$root/target/debug/terrapin-pull" "$TERRAPIN_URL" "$user" "$pass" "$phrase" 2>/dev/null)
check "terrapin-core decodes atuin's history, without the deleted entry" $'cargo build\necho one\nls -la' \
  "$(echo "$pulled" | awk -F'\t' '$1=="history"{print $2}' | sort)"
check "terrapin-core decodes atuin's kv" $'kv\tdefault\tcolour\tgreen' "$(echo "$pulled" | grep '^kv')"

echo "$passes passed, $fails failed"
[ "$fails" = 0 ]
