#!/bin/sh
# Live overhead of moonwatch, side by side in one run.
#
# Workload: benchmarks/loop/sendrecv.c, N iterations of sendmsg+recvmsg (64 bytes, UNIX datagram
# socketpair, no control messages, nothing racing) in one thread: calls no bundled signature can
# accept, so the kernel filter should keep them all.
#
# Configurations, measured in rounds (every configuration once per round, in turn, so that the
# machine's drift hits all of them alike), each with the loop pinned to CPU $LOOP_CPU and not pinned:
#   untraced
#   floor      moonwatch run selecting one event kind the loop never makes (the programs attached,
#              every call turned away at once): the cost of sys_enter/sys_exit tracing itself
#   default    moonwatch run with its defaults (bundled signatures)
#   sockets    moonwatch run --events <every socket event> with the bundled signatures
#   bpftrace   bpftrace counting sys_enter of the same socket syscalls (per-syscall tracepoints)
# Ratios are against the untraced loop of the same round; the median over rounds is reported,
# with the spread (min-max) as the noise. Then one more default run with --bpf-stats gives the
# kernel's time per program run, and the per-kind counters: calls seen, filtered in the kernel,
# submitted to user space, dropped.
#
# Environment: MOONWATCH (binary, default .build/release/moonwatch), LOOP_ITERATIONS (300000),
# ROUNDS (5), LOOP_CPU (0), CC. Needs root.
set -eu
cd "$(dirname "$0")/.."

MOONWATCH=${MOONWATCH:-.build/release/moonwatch}
N=${LOOP_ITERATIONS:-300000}
ROUNDS=${ROUNDS:-5}
LOOP_CPU=${LOOP_CPU-0}
SOCKET_EVENTS=sendmsg,recvmsg,sendto,recvfrom,sendmmsg,recvmmsg,recvmmsg_time32,socket,socketpair,connect,accept,accept4,bind,listen
BPFTRACE_SYSCALLS="sendmsg recvmsg sendto recvfrom sendmmsg recvmmsg socket socketpair connect accept accept4 bind listen"

[ "$(id -u)" = 0 ] || { echo "live-overhead: needs root (eBPF)"; exit 1; }
[ -x "$MOONWATCH" ] || { echo "live-overhead: $MOONWATCH not built (make release)"; exit 1; }

TMP=$(mktemp -d /tmp/mw-live-overhead.XXXXXX)
TRACER=""; MOUNTED_TRACEFS=""
cleanup() {
  [ -n "$TRACER" ] && kill -INT "$TRACER" 2>/dev/null && wait "$TRACER" 2>/dev/null || true
  [ -n "$MOUNTED_TRACEFS" ] && umount /sys/kernel/tracing 2>/dev/null || true
  rm -rf "$TMP"
}
trap cleanup EXIT INT TERM

CC=${CC:-$(command -v cc || command -v gcc || echo /opt/swift/usr/bin/clang)}
"$CC" -O2 -o "$TMP/sendrecv" benchmarks/loop/sendrecv.c

PIN="taskset -c $LOOP_CPU"
command -v taskset >/dev/null 2>&1 && [ "$(nproc)" -gt 1 ] || PIN=""

HAVE_BPFTRACE=""
if command -v bpftrace >/dev/null 2>&1; then
  if [ ! -d /sys/kernel/tracing/events/syscalls ]; then
    mount -t tracefs nodev /sys/kernel/tracing 2>/dev/null && MOUNTED_TRACEFS=yes || true
  fi
  [ -d /sys/kernel/tracing/events/syscalls ] && HAVE_BPFTRACE=yes
  PROBES=""
  for s in $BPFTRACE_SYSCALLS; do PROBES="${PROBES:+$PROBES,}tracepoint:syscalls:sys_enter_$s"; done
  echo "$PROBES { @[probe] = count(); }" > "$TMP/count.bt"
fi

# wait_for FILE PATTERN SECONDS
wait_for() {
  t=0
  while ! grep -q "$2" "$1" 2>/dev/null; do
    sleep 0.1; t=$((t + 1))
    [ "$t" -lt $(($3 * 10)) ] || return 1
  done
}

# start_tracer CONFIG: starts what CONFIG measures, in the background (TRACER is its pid)
start_tracer() {
  : > "$TMP/tracer.err"
  case "$1" in
    untraced) TRACER=""; return 0 ;;
    floor) "$MOONWATCH" run --events init_module --stats --out /dev/null 2> "$TMP/tracer.err" & TRACER=$! ;;
    default) "$MOONWATCH" run --stats --out /dev/null 2> "$TMP/tracer.err" & TRACER=$! ;;
    sockets) "$MOONWATCH" run --events "$SOCKET_EVENTS" --stats --out /dev/null 2> "$TMP/tracer.err" & TRACER=$! ;;
    stats) "$MOONWATCH" run --bpf-stats --stats --out /dev/null 2> "$TMP/tracer.err" & TRACER=$! ;;
    bpftrace) bpftrace "$TMP/count.bt" > "$TMP/tracer.err" 2>&1 & TRACER=$! ;;
  esac
  if [ "$1" = bpftrace ]; then
    wait_for "$TMP/tracer.err" "Attaching" 60 || { echo "live-overhead: bpftrace did not start:"; cat "$TMP/tracer.err"; exit 1; }
  else
    wait_for "$TMP/tracer.err" "probes attached" 60 || { echo "live-overhead: moonwatch did not start:"; cat "$TMP/tracer.err"; exit 1; }
  fi
  sleep 0.5
}

stop_tracer() {
  [ -n "$TRACER" ] || return 0
  kill -INT "$TRACER" 2>/dev/null || true
  wait "$TRACER" 2>/dev/null || true
  TRACER=""
}

loop() { # loop PINNED? -> seconds
  if [ "$1" = pinned ]; then $PIN "$TMP/sendrecv" "$N" | awk '{print $1}'; else "$TMP/sendrecv" "$N" | awk '{print $1}'; fi
}

CONFIGS="untraced floor default sockets"
[ -n "$HAVE_BPFTRACE" ] && CONFIGS="$CONFIGS bpftrace"

echo "live overhead: sendmsg+recvmsg over a UNIX datagram socketpair, $N iterations, $ROUNDS rounds, loop pinned to CPU $LOOP_CPU and not pinned"
"$TMP/sendrecv" 100000 >/dev/null   # warm up
: > "$TMP/times"
r=1
while [ "$r" -le "$ROUNDS" ]; do
  for c in $CONFIGS; do
    start_tracer "$c"
    echo "$r $c pinned $(loop pinned)" >> "$TMP/times"
    echo "$r $c free $(loop free)" >> "$TMP/times"
    stop_tracer
    if [ "$c" = default ]; then cp "$TMP/tracer.err" "$TMP/default.err"; fi
  done
  r=$((r + 1))
done

# ratios per round against the same round's untraced loop; median and spread over rounds
report() { # report PINMODE LABEL
  for c in $CONFIGS; do
    awk -v c="$c" -v m="$1" '
      $3 == m && $2 == "untraced" { base[$1] = $4 }
      $3 == m && $2 == c { t[$1] = $4 }
      END {
        n = 0
        for (r in t) if (base[r] > 0) { v[++n] = t[r] / base[r]; s[n] = t[r] }
        for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) { if (v[j] < v[i]) { x = v[i]; v[i] = v[j]; v[j] = x } if (s[j] < s[i]) { x = s[i]; s[i] = s[j]; s[j] = x } }
        med = v[int((n + 1) / 2)]; ms = s[int((n + 1) / 2)]
        printf "  %-10s %-28s %8.3f s  %7.0f it/s  %5.2fx  (rounds: %.2f-%.2f)\n", m, c, ms, '"$N"' / ms, med, v[1], v[n]
      }' "$TMP/times"
  done
}
echo "loop pinned to CPU $LOOP_CPU:"
report pinned
echo "loop not pinned:"
report free

ratio_of() { # ratio_of CONFIG PINMODE
  awk -v c="$1" -v m="$2" '$3 == m && $2 == "untraced" { base[$1] = $4 } $3 == m && $2 == c { t[$1] = $4 }
    END { n = 0; for (r in t) if (base[r] > 0) v[++n] = t[r] / base[r]
          for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (v[j] < v[i]) { x = v[i]; v[i] = v[j]; v[j] = x }
          printf "%.2f", v[int((n + 1) / 2)] }' "$TMP/times"
}

# Kernel counters of the last default run (the loop ran 2 x ROUNDS times under it, 2 calls per iteration)
STATS=$(grep '^{' "$TMP/default.err" | tail -1)
kstat() { printf '%s' "$STATS" | python3 -c "import json,sys; d=json.load(sys.stdin)['source']; k=d.get('kernel',{}); print(sum(k.get(n,{}).get('$1',0) for n in ('sendmsg','recvmsg')))"; }
SEEN=$(kstat seen); FILT=$(kstat filtered); SUB=$(kstat submitted); DROP=$(kstat dropped)
ALLDROPS=$(printf '%s' "$STATS" | python3 -c "import json,sys; print(json.load(sys.stdin)['source']['kernel_drops'])")
echo "moonwatch defaults, last round (sendmsg+recvmsg): $SEEN calls seen, $FILT filtered in the kernel, $SUB submitted, $DROP dropped; kernel drops in all: $ALLDROPS"

# Kernel time per program run (bpf_stats), in a separate run: timing every run costs itself.
start_tracer stats
loop pinned >/dev/null
stop_tracer
printf '%s' "$(grep '^{' "$TMP/tracer.err" | tail -1)" | python3 -c '
import json, sys
x = json.load(sys.stdin)["source"]["extra"]
for k in sorted(x):
    if k.startswith("bpf_") and k.endswith("_runs") and x[k]:
        name = k[4:-5]
        print("  bpf_stats %-20s %10d runs  %6.0f ns/run" % (name, x[k], x["bpf_%s_ns" % name] / x[k]))'

D=$(ratio_of default free); S=$(ratio_of sockets pinned); B=$(ratio_of bpftrace pinned); F=$(ratio_of floor free)
verdict() { if [ "$1" = 1 ]; then echo met; else echo MISSED; fi; }
echo "goals: defaults not pinned <= 1.30x: $(verdict "$(awk -v r="$D" 'BEGIN {print (r <= 1.30)}')") ($D, floor $F)" \
     "| every socket event <= bpftrace (pinned): $(if [ -n "$HAVE_BPFTRACE" ]; then verdict "$(awk -v r="$S" -v b="$B" 'BEGIN {print (r <= b)}')"; else echo "n/a"; fi) ($S vs $B)" \
     "| zero drops: $(verdict "$([ "$ALLDROPS" = 0 ] && echo 1 || echo 0)")" \
     "| <= 1% reaches user space: $(verdict "$(awk -v s="$SUB" -v n="$SEEN" 'BEGIN {print (n > 0 && s * 100 <= n)}')")"
