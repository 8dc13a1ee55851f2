#!/bin/bash
# Runs every test (`swift test --skip-build`, which runs XCTest and then Swift Testing) and closes
# with one line that counts what really ran in both, so the last line never reports the empty
# Swift Testing run alone. Exits with swift test's status: a failure still fails `make test`.
#   tools/run-tests.sh [swift test arguments...]
set -u
SWIFT=${SWIFT:-swift}
log=$(mktemp "${TMPDIR:-/tmp}/moonwatch-test.XXXXXX")
trap 'rm -f "$log"' EXIT

set -o pipefail
"$SWIFT" test --skip-build "$@" 2>&1 | tee "$log"
status=$?
set +o pipefail

# XCTest: the outermost suite's "Executed N tests, with F failures" comes last; with skipped
# tests it reads "Executed N tests, with S tests skipped and F failures".
xc_line=$(grep -E '^[[:space:]]*Executed [0-9]+ tests?, with ([0-9]+ tests? skipped and )?[0-9]+ failures?' "$log" | tail -n 1)
xc_ran=$(sed -E 's/.*Executed ([0-9]+) tests?.*/\1/' <<<"$xc_line")
xc_failed=$(sed -E 's/.* ([0-9]+) failures?.*/\1/' <<<"$xc_line")
# Swift Testing: "Test run with N tests in M suites passed|failed ... [with K issues]".
st_line=$(grep -E 'Test run with [0-9]+ tests?' "$log" | tail -n 1)
st_ran=$(sed -E 's/.*Test run with ([0-9]+) tests?.*/\1/' <<<"$st_line")
st_failed=0
if grep -q 'failed' <<<"$st_line"; then
  st_failed=$(sed -nE 's/.*with ([0-9]+) (issues?|failures?).*/\1/p' <<<"$st_line")
  st_failed=${st_failed:-1}
fi

if [ -z "$xc_line" ] && [ -z "$st_line" ]; then
  echo "make test: FAILED - the test process printed no summary (exit status $status); see the output above"
  [ "$status" -ne 0 ] || status=1
  exit "$status"
fi
xc_ran=${xc_ran:-0}; xc_failed=${xc_failed:-0}; st_ran=${st_ran:-0}
total=$((xc_ran + st_ran))
failed=$((xc_failed + st_failed))
verdict=passed
[ "$status" -eq 0 ] && [ "$failed" -eq 0 ] || verdict=FAILED
echo "make test: $verdict - $total tests ran ($xc_ran XCTest, $st_ran Swift Testing), $failed failed"
[ "$status" -ne 0 ] || [ "$failed" -eq 0 ] || status=1
exit "$status"
