#!/bin/sh
# Live overhead of `moonwatch run`, measured in one run against the same workload untraced and
# under a bpftrace script that only counts the same syscalls.
#
# Workload: benchmarks/loop/sendrecv.c, N iterations of sendmsg+recvmsg (64 bytes, UNIX datagram
# socketpair) in one thread, pinned to one CPU; RUNS runs per configuration, median reported.
#   untraced
#   moonwatch run --events <every socket event>   (bundled signatures loaded, findings discarded)
#   bpftrace counting sys_enter of the same socket syscalls (per-syscall tracepoints)
# Prints ratios against untraced, moonwatch's kernel drops, events and peak RSS, and checks the
# goals (<= 1.30x untraced, below bpftrace, zero drops, RSS <= 100 MB). Needs root.
#
# Environment: MOONWATCH (binary, default .build/release/moonwatch), LOOP_ITERATIONS (500000),
# LOOP_RUNS (5), LOOP_CPU (0; "" to not pin), CC.
set -eu
cd "$(dirname "$0")/.."

MOONWATCH=${MOONWATCH:-.build/release/moonwatch}
N=${LOOP_ITERATIONS:-500000}
RUNS=${LOOP_RUNS:-5}
LOOP_CPU=${LOOP_CPU-0}
SOCKET_EVENTS=sendmsg,recvmsg,sendto,recvfrom,sendmmsg,recvmmsg,recvmmsg_time32,socket,socketpair,connect,accept,accept4,bind,listen
BPFTRACE_SYSCALLS="sendmsg recvmsg sendto recvfrom sendmmsg recvmmsg socket socketpair connect accept accept4 bind listen"

[ "$(id -u)" = 0 ] || { echo "live-overhead: needs root (eBPF)"; exit 1; }
[ -x "$MOONWATCH" ] || { echo "live-overhead: $MOONWATCH not built (make release)"; exit 1; }

TMP=$(mktemp -d /tmp/mw-live-overhead.XXXXXX)
MW_PID=""; BT_PID=""; MOUNTED_TRACEFS=""
cleanup() {
  [ -n "$MW_PID" ] && kill "$MW_PID" 2>/dev/null || true
  [ -n "$BT_PID" ] && kill "$BT_PID" 2>/dev/null || true
  [ -n "$MOUNTED_TRACEFS" ] && umount /sys/kernel/tracing 2>/dev/null || true
  rm -rf "$TMP"
}
trap cleanup EXIT INT TERM

CC=${CC:-$(command -v cc || command -v gcc || echo /opt/swift/usr/bin/clang)}
"$CC" -O2 -o "$TMP/sendrecv" benchmarks/loop/sendrecv.c

PIN=""
if [ -n "$LOOP_CPU" ] && command -v taskset >/dev/null 2>&1 && [ "$(nproc)" -gt 1 ]; then
  PIN="taskset -c $LOOP_CPU"
fi

# median_of_runs LABEL: runs the loop RUNS times, prints the median seconds
median_of_runs() {
  : > "$TMP/times"
  i=0
  while [ "$i" -lt "$RUNS" ]; do
    $PIN "$TMP/sendrecv" "$N" | awk '{print $1}' >> "$TMP/times"
    i=$((i + 1))
  done
  sort -n "$TMP/times" | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'
}

# wait_for FILE PATTERN SECONDS
wait_for() {
  t=0
  while ! grep -q "$2" "$1" 2>/dev/null; do
    sleep 0.1; t=$((t + 1))
    [ "$t" -lt $(($3 * 10)) ] || return 1
  done
}

echo "live overhead: sendmsg+recvmsg over a UNIX datagram socketpair, $N iterations x $RUNS runs (median)${PIN:+, loop pinned to CPU $LOOP_CPU}"
$PIN "$TMP/sendrecv" 100000 >/dev/null   # warm up

# 1. untraced
BASE=$(median_of_runs)

# 2. moonwatch run, every socket event, bundled signatures
"$MOONWATCH" run --events "$SOCKET_EVENTS" --stats --out /dev/null 2> "$TMP/mw.err" &
MW_PID=$!
if ! wait_for "$TMP/mw.err" "probes attached" 30; then
  echo "live-overhead: moonwatch did not start:"; cat "$TMP/mw.err"; exit 1
fi
MODE=$(sed -n 's/.*probes attached (\([a-z_]*\).*/\1/p' "$TMP/mw.err" | head -1)
MW=$(median_of_runs)
sleep 0.5   # let the reader drain before reading its peak RSS
RSS_KB=$(awk '/^VmHWM:/ {print $2}' "/proc/$MW_PID/status")
kill -INT "$MW_PID"
wait "$MW_PID" || true
MW_PID=""
STATS=$(grep '^{' "$TMP/mw.err" | tail -1)
num() { printf '%s' "$STATS" | grep -o "\"$1\":[0-9]*" | head -1 | cut -d: -f2; }
DROPS=$(num kernel_drops); EVENTS=$(num events_in)
SM=$(printf '%s' "$STATS" | grep -o '"sendmsg":[0-9]*' | head -1 | cut -d: -f2)
RM=$(printf '%s' "$STATS" | grep -o '"recvmsg":[0-9]*' | head -1 | cut -d: -f2)
grep -q "kernel dropped" "$TMP/mw.err" && WARNED=yes || WARNED=no

# 3. bpftrace counting the same syscalls
BT=""
if command -v bpftrace >/dev/null 2>&1; then
  if [ ! -d /sys/kernel/tracing/events/syscalls ]; then
    mount -t tracefs nodev /sys/kernel/tracing && MOUNTED_TRACEFS=yes
  fi
  PROBES=""
  for s in $BPFTRACE_SYSCALLS; do PROBES="${PROBES:+$PROBES,}tracepoint:syscalls:sys_enter_$s"; done
  echo "$PROBES { @[probe] = count(); }" > "$TMP/count.bt"
  bpftrace "$TMP/count.bt" > "$TMP/bt.out" 2>&1 &
  BT_PID=$!
  if wait_for "$TMP/bt.out" "Attaching" 30; then
    sleep 0.5
    BT=$(median_of_runs)
  else
    echo "live-overhead: bpftrace did not start:"; cat "$TMP/bt.out"
  fi
  kill -INT "$BT_PID" 2>/dev/null || true
  wait "$BT_PID" 2>/dev/null || true
  BT_PID=""
fi

ratio() { awk -v a="$1" -v b="$BASE" 'BEGIN {printf "%.2f", a / b}'; }
rate() { awk -v s="$1" -v n="$N" 'BEGIN {printf "%.0f", n / s}'; }
printf '  %-34s %8.3f s  %8s it/s  %5sx\n' "untraced" "$BASE" "$(rate "$BASE")" "1.00"
printf '  %-34s %8.3f s  %8s it/s  %5sx\n' "moonwatch run ($MODE)" "$MW" "$(rate "$MW")" "$(ratio "$MW")"
if [ -n "$BT" ]; then
  printf '  %-34s %8.3f s  %8s it/s  %5sx\n' "bpftrace (count only)" "$BT" "$(rate "$BT")" "$(ratio "$BT")"
fi
echo "  moonwatch: $EVENTS events (sendmsg $SM, recvmsg $RM), $DROPS dropped in the kernel, peak RSS $((RSS_KB / 1024)) MB, drop warning printed: $WARNED"
EXPECTED=$((2 * N * RUNS))
echo "  loop syscalls while traced: $EXPECTED (sendmsg+recvmsg); captured: $((SM + RM))"

R=$(ratio "$MW")
verdict() { if [ "$1" = 1 ]; then echo met; else echo MISSED; fi; }
echo "  goals: <= 1.30x untraced: $(verdict "$(awk -v r="$R" 'BEGIN {print (r <= 1.30)}')")" \
     "| below bpftrace: $(if [ -n "$BT" ]; then verdict "$(awk -v r="$R" -v b="$(ratio "$BT")" 'BEGIN {print (r < b)}')"; else echo "n/a"; fi)" \
     "| zero drops: $(verdict "$([ "$DROPS" = 0 ] && echo 1 || echo 0)")" \
     "| RSS <= 100 MB: $(verdict "$([ "$RSS_KB" -le 102400 ] && echo 1 || echo 0)")"
