#!/bin/bash
# Bash workload: pipelines, subshells, background jobs, traps and signals,
# command substitution, here-docs, set -e, a while-read loop over a file.
# Output is deterministic (no pids, no timings).

echo "== pipelines"
printf '%s\n' banana apple cherry apple banana apple | sort | uniq -c | sort -rn | awk '{print $2, $1}'
seq 1 100 | grep 7 | wc -l
echo "a b c" | tr ' ' '\n' | tac | paste -sd, -
set -o pipefail
false | true; echo "pipefail status: $?"
set +o pipefail
false | true; echo "no pipefail status: $?"
echo "PIPESTATUS: $(true | false | (exit 3); echo "${PIPESTATUS[*]}")"

echo "== subshells"
x=outer
( x=inner; echo "in subshell: $x"; exit 7 ); echo "subshell status: $?"
echo "after subshell: $x"
( cd /usr && pwd ); pwd >/dev/null
echo "nested: $( ( ( echo deep ) ) )"

echo "== background jobs"
outdir=$(mktemp -d)
for i in 1 2 3 4; do
  ( sleep 0.0$i; echo "job $i" > "$outdir/$i" ) &
done
wait
cat "$outdir"/* | sort
( exit 5 ) & p=$!
wait "$p"; echo "wait status: $?"
sleep 10 & p=$!
kill -TERM "$p"; wait "$p"; echo "killed job status: $?"
rm -rf "$outdir"

echo "== traps"
# set only now: no background job is running that could inherit it
tmp=$(mktemp)
trap 'echo "EXIT trap: status $?"; rm -f "$tmp"' EXIT
trap 'echo "signal trap ran"' INT TERM
kill -INT $$
echo "continued after INT"
kill -TERM $$
echo "continued after TERM"
trap - INT TERM
( trap 'echo "subshell got USR1"; exit 9' USR1; kill -USR1 $BASHPID; echo "not reached" )
echo "subshell USR1 status: $?"
( kill -TERM $BASHPID; echo "not reached" ); echo "subshell killed by TERM status: $?"

echo "== command substitution"
n=$(seq 1 10 | paste -sd+ - | bc)
echo "sum 1..10 = $n"
echo "upper: $(echo hello | tr a-z A-Z)"
lines=$(printf 'a\nb\nc\n')
echo "lines: ${#lines} chars"
echo "arith: $(( (3 + 4) * 5 % 11 ))"

echo "== here-docs"
name=world
cat <<END
hello $name
  indented $((1+1))
END
cat <<'END'
literal $name $(not run)
END
tr a-z A-Z <<<"here-string"
while read -r a b; do echo "[$a|$b]"; done <<END
one 1
two 2
END

echo "== set -e"
( set -e; echo "before"; false; echo "not reached" )
echo "set -e subshell status: $?"
( set -e; echo "before"; ( exit 42 ); echo "not reached" )
echo "set -e nested status: $?"
( set -e; if false; then :; fi; false || echo "|| is exempt"; exit 0 )
echo "exempt status: $?"

echo "== while read"
seq 1 10000 > "$tmp"
sum=0; count=0
while read -r n; do
  sum=$((sum + n)); count=$((count + 1))
done < "$tmp"
echo "count=$count sum=$sum"
wc -l < "$tmp"

echo "== functions and exit"
f() { local v=$1; return $((v * 2)); }
f 4; echo "function status: $?"
exit 3
