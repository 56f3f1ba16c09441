#!/bin/sh
# Build fieldsync and run the demo: two paired instances on 127.0.0.1,
# "hq" (passive) and "branch" (active, polling every 2 seconds), each with
# a customers table and its own web UI.  Ctrl-C stops both.
#
#   ./demo.sh            ports 8080 (hq) and 8081 (branch)
#   HQ_PORT=9080 BRANCH_PORT=9081 ./demo.sh
set -e
cd "$(dirname "$0")"
TOP=$(pwd)
HQ_PORT=${HQ_PORT:-8080}
BRANCH_PORT=${BRANCH_PORT:-8081}
DEMO=${DEMO_DIR:-$TOP/demo-data}

FIELDSYNC_BROWSER_TESTS=0 ./tests/install-deps.sh
if [ ! -x build-demo/fieldsync ] || [ -n "$(find src sql web -newer build-demo/fieldsync 2>/dev/null | head -1)" ]; then
	echo "building fieldsync..."
	./autogen.sh >/dev/null 2>&1
	mkdir -p build-demo
	(cd build-demo && ../configure -q && make -s -j"$(nproc)" fieldsync >build.log 2>&1) || { tail -20 build-demo/build.log; exit 1; }
fi
FS=$TOP/build-demo/fieldsync

rm -rf "$DEMO"
mkdir -p "$DEMO"
cd "$DEMO"
echo "demo password" >pair.pw
echo "fieldsync-demo" >admin.pw
chmod 600 pair.pw admin.pw

for side in hq branch; do
	sqlite3 $side.db "CREATE TABLE customers (
	    id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT,
	    phone TEXT, city TEXT, balance REAL DEFAULT 0, notes TEXT)"
done
sqlite3 hq.db "INSERT INTO customers (name, email, phone, city, balance) VALUES
    ('Ada Lovelace', 'ada@example.com', '+44 20 7946 0001', 'London', 120.5),
    ('Grace Hopper', 'grace@example.com', '+1 202 555 0102', 'Arlington', 0),
    ('Edsger Dijkstra', 'edsger@example.com', '+31 40 247 9111', 'Eindhoven', 42),
    ('Barbara Liskov', 'barbara@example.com', '+1 617 253 0001', 'Cambridge', 7.25)"
sqlite3 branch.db "INSERT INTO customers (name, email, phone, city) VALUES
    ('Ada Lovelace', 'ada@example.com', '+44 20 7946 0001', 'London'),
    ('Niklaus Wirth', 'niklaus@example.com', '+41 44 632 1111', 'Zurich')"

has_passwd=0
"$FS" passwd --help >/dev/null 2>&1 && has_passwd=1
for side in hq branch; do
	"$FS" -d $side.db init --name $side >/dev/null
	[ $has_passwd = 1 ] && "$FS" -d $side.db passwd --password-file admin.pw >/dev/null
	# Customers present on both sides are linked by e-mail on the first sync.
	"$FS" -d $side.db table add customers --match email >/dev/null
done

# hq serves; branch connects to it as "branch1".
"$FS" -d hq.db pair add branch1 --passive --password-file pair.pw >/dev/null
"$FS" -d branch.db pair add branch1 --active \
    --url "http://127.0.0.1:$HQ_PORT/" --password-file pair.pw --interval 2 >/dev/null
# Contact details both ways, the balance only from hq to the branch,
# deletes (the status field) and time added both ways; notes stay local.
for col in name email phone city balance fs_status fs_added; do
	mode=two-way
	[ $col = balance ] && mode=download
	n=$("$FS" -d branch.db map add branch1 customers.$col --mode $mode |
	    sed -n 's/.* as field \([0-9]*\) .*/\1/p')
	hmode=two-way
	[ $col = balance ] && hmode=upload
	"$FS" -d hq.db map add branch1 customers.$col --remote-field "$n" \
	    --mode $hmode >/dev/null
done

"$FS" -d hq.db serve --listen 127.0.0.1:$HQ_PORT >hq.out 2>hq.log &
HQ=$!
"$FS" -d branch.db serve --listen 127.0.0.1:$BRANCH_PORT >branch.out 2>branch.log &
BR=$!
trap 'kill $HQ $BR 2>/dev/null; wait $HQ $BR 2>/dev/null; echo; echo "demo stopped; data kept in $DEMO"' INT TERM EXIT

# Wait for the first sync: both sides then hold the same five customers.
i=0
until [ "$(sqlite3 hq.db 'SELECT count(*) FROM customers')" = 5 ] &&
    [ "$(sqlite3 branch.db 'SELECT count(*) FROM customers')" = 5 ]; do
	i=$((i + 1))
	if [ $i -gt 150 ] || ! kill -0 $HQ 2>/dev/null || ! kill -0 $BR 2>/dev/null; then
		echo "demo: the first sync did not complete; logs:" >&2
		tail -5 hq.log branch.log >&2
		exit 1
	fi
	sleep 0.2
done
"$FS" -d branch.db pair test branch1

# A live change, to watch it travel.
sqlite3 branch.db "UPDATE customers SET phone = '+41 44 632 9999' WHERE email = 'niklaus@example.com'"
i=0
until [ "$(sqlite3 hq.db "SELECT phone FROM customers WHERE email = 'niklaus@example.com'")" = '+41 44 632 9999' ]; do
	i=$((i + 1))
	[ $i -gt 100 ] && { echo "demo: the change did not arrive" >&2; exit 1; }
	sleep 0.1
done

cat <<EOT

fieldsync demo is running (Ctrl-C to stop):

  hq      (passive)  http://127.0.0.1:$HQ_PORT/      database $DEMO/hq.db
  branch  (active)   http://127.0.0.1:$BRANCH_PORT/      database $DEMO/branch.db
EOT
[ $has_passwd = 1 ] && echo "
  web UI login: password 'fieldsync-demo' on both"
cat <<EOT

Both sides now hold the same 5 customers (Ada was linked by e-mail, not
duplicated), and a phone number just changed on the branch arrived at hq.
Try it yourself:

  sqlite3 $DEMO/hq.db "UPDATE customers SET balance = 99 WHERE id = 1"
  sqlite3 $DEMO/branch.db "SELECT name, balance FROM customers"   # 2 s later
  $FS -d $DEMO/branch.db status
  $FS -d $DEMO/hq.db log customers 1

Logs: $DEMO/hq.log, $DEMO/branch.log
EOT
wait $HQ $BR
