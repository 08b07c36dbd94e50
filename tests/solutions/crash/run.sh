# Crashes on the baseline scenario only, and works like setbased elsewhere.
if [ "$HARNESS_SCENARIO" = "baseline" ]; then kill -SEGV $$; fi
cd "$(dirname "$0")/../../../examples/solutions/ecommerce-etl-foundation/setbased" && exec ./run.sh
