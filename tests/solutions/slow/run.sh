# Like setbased, but takes its time outside the baseline scenario (for the interrupt test).
if [ "$HARNESS_SCENARIO" != "baseline" ]; then sleep 30; fi
cd "$(dirname "$0")/../../../examples/solutions/ecommerce-etl-foundation/setbased" && exec ./run.sh
