#!/bin/sh
# make bench: throughput of the engine and of replay, then (as root, with BPF) the live overhead
# of `moonwatch run` against an untraced loop and a bpftrace counter. Numbers only, no pass/fail.
set -eu
cd "$(dirname "$0")/.."
BIN=.build/release
echo "== engine (pre-decoded mixed events, bundled signatures, one thread)"
"$BIN/moonwatch-bench" engine "${ENGINE_EVENTS:-2000000}"
echo "== replay (JSON lines file -> findings)"
"$BIN/moonwatch-bench" replay "${REPLAY_EVENTS:-1000000}"
if [ -x benchmarks/live-overhead.sh ]; then
  echo "== live overhead (sendmsg+recvmsg loop)"
  if [ "$(id -u)" = 0 ]; then
    benchmarks/live-overhead.sh
  else
    echo "skipped: live overhead needs root (eBPF)"
  fi
fi
