# Forks children that ignore SIGTERM and sleeps forever: the harness must kill the whole tree.
trap '' TERM
(trap '' TERM; sleep 1000) &
(trap '' TERM; setsid sleep 1000) &
echo "$$" > "$HARNESS_OUTPUT_DIR/../hang.pids"
sleep 1000
