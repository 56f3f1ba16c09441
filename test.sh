#!/bin/sh
# Install what is missing, build fieldsync with ASan/UBSan, run the whole
# test suite, then "make distcheck".  Ends with "N passed, N failed".
set -e
cd "$(dirname "$0")"
./tests/install-deps.sh
./autogen.sh >/dev/null 2>&1
BUILD=${BUILD_DIR:-build-test}
rm -rf "$BUILD"
mkdir -p "$BUILD"
cd "$BUILD"
../configure -q --enable-sanitizers
make -s -j"$(nproc)" >/dev/null
set +e
make -s -j"$(nproc)" check >/dev/null 2>&1
check=$?
set -e
pass=$(sed -n 's/^# PASS: *//p' test-suite.log)
fail=$(sed -n 's/^# FAIL: *//p' test-suite.log)
xpass=$(sed -n 's/^# XPASS: *//p' test-suite.log)
error=$(sed -n 's/^# ERROR: *//p' test-suite.log)
skip=$(sed -n 's/^# SKIP: *//p' test-suite.log)
failed=$(( ${fail:-0} + ${xpass:-0} + ${error:-0} ))
if [ "$check" != 0 ] || [ "$failed" != 0 ]; then
	grep -E '^(FAIL|ERROR|XPASS):' test-suite.log || true
	for f in $(find tests -name '*.log' ! -name test-suite.log); do
		if grep -q '^:test-result: \(FAIL\|ERROR\)' "${f%.log}.trs" 2>/dev/null; then
			echo "=== $f"; tail -40 "$f"
		fi
	done
fi
# distcheck proves the tarball builds and passes its tests on its own.
if [ "$failed" = 0 ] && [ "${SKIP_DISTCHECK:-0}" != 1 ]; then
	if ! make -s distcheck >distcheck.log 2>&1; then
		tail -40 distcheck.log
		echo "distcheck: FAILED"
		failed=$((failed + 1))
	fi
fi
echo "${pass:-0} passed, ${failed} failed, ${skip:-0} skipped"
[ "$failed" = 0 ]
