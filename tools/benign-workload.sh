#!/bin/sh
# The benign workload of issue 8 under `moonwatch run` with the bundled signatures: builds,
# compileall, tar, find, git, loopback HTTP, process pools, strace and gdb. Prints the findings
# per signature and severity; nothing at medium or above is the bar.
#   tools/benign-workload.sh [MOONWATCH_BINARY]
set -eu
MW=${1:-.build/debug/moonwatch}
W=$(mktemp -d /tmp/mw-benign.XXXXXX)
trap 'kill $MWPID 2>/dev/null || true; rm -rf "$W"' EXIT
# The workload runs in its own process tree (waiting for a go), and moonwatch watches that tree
# only (--pid follows forks): other programs on a shared machine are not the workload.
cat > "$W/workload.sh" <<'WORKLOAD'
set -eu
W=$1
cd "$W"
# a C build with make (several compilers, the linker, configure-style test programs)
mkdir -p build && cd build
for n in 1 2 3 4 5 6; do printf 'int f%d(int x){return x*%d;}\n' $n $n > f$n.c; done
printf 'int f1(int);\nint main(void){return f1(0);}\n' > main.c
printf 'all: prog\nprog: main.o f1.o f2.o f3.o f4.o f5.o f6.o\n\t$(CC) -o $@ $^\n%%.o: %%.c\n\t$(CC) -O1 -c $<\n' > Makefile
make -s -j2 >/dev/null && ./prog
printf 'int main(void){return 0;}\n' > conftest.c && gcc conftest.c -o conftest && ./conftest
cd "$W"
# Python: compileall, a process pool, a loopback HTTP server and client
mkdir -p py && for n in 1 2 3 4 5; do echo "x = $n" > py/m$n.py; done
python3 -m compileall -q py >/dev/null
python3 - <<'PY'
from multiprocessing import Pool
with Pool(4) as p: print(sum(p.map(abs, range(1000))))
PY
python3 -m http.server 18080 --bind 127.0.0.1 >/dev/null 2>&1 &
HTTP=$!
sleep 1
for n in 1 2 3 4 5; do curl -s -o /dev/null http://127.0.0.1:18080/ || true; done
kill $HTTP
# tar, find, git
tar czf a.tgz py build 2>/dev/null && mkdir -p x && tar xzf a.tgz -C x
find /usr/include -name '*.h' -newer a.tgz >/dev/null 2>&1 || true
find . -type f | wc -l >/dev/null
git init -q repo && cd repo && git config user.email a@b && git config user.name a && echo x > f && git add f \
    && git commit -qm x && git log --oneline >/dev/null && git clone -q . ../clone && cd "$W"
# strace and gdb
strace -f -o /dev/null true
gdb -q -batch -ex run -ex bt --args /bin/true >/dev/null 2>&1 || true
# shells and pipelines
sh -c 'echo a | sort | uniq | wc -l' >/dev/null
bash -c 'for i in 1 2 3; do (echo $i) ; done' >/dev/null
WORKLOAD
sh -c 'while [ ! -f "$1/go" ]; do sleep 0.1; done; exec sh "$1/workload.sh" "$1"' sh "$W" &
WLPID=$!
"$MW" run --pid $WLPID --out "$W/findings.jsonl" 2>"$W/stderr" &
MWPID=$!
i=0
until grep -q "probes attached" "$W/stderr" 2>/dev/null; do
    i=$((i + 1)); [ $i -lt 600 ] || { cat "$W/stderr"; exit 1; }
    kill -0 $MWPID 2>/dev/null || { cat "$W/stderr"; exit 1; }
    sleep 0.1
done
echo "benign: moonwatch attached; running the workload (pid $WLPID)" >&2
touch "$W/go"
wait $WLPID
sleep 2
kill -INT $MWPID
wait $MWPID || true
echo "benign: findings by signature and severity (any at medium or above fails the bar):"
python3 - "$W/findings.jsonl" <<'PY'
import json, sys, collections
c = collections.Counter()
bad = []
try:
    for line in open(sys.argv[1]):
        f = json.loads(line)
        c[(f["signature"]["id"], f["severity"])] += 1
        if f["severity"] in ("medium", "high", "critical"):
            bad.append(f["message"])
except FileNotFoundError:
    pass
for (sid, sev), n in sorted(c.items()):
    print(f"  {sid} {sev}: {n}")
if not c:
    print("  (none)")
for m in bad[:20]:
    print("  >= medium:", m)
sys.exit(1 if bad else 0)
PY
