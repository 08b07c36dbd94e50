# Writes what a report must never turn into markup or broken XML, then fails.
printf '<script>alert(1)</script> <img src=x onerror=alert(2)> </textarea> ]]> \001\002\033[31m bad utf8: \377\376 \300\200 end\n'
printf 'stderr ]]> <b>bold</b> & \037\n' >&2
mkdir -p "$HARNESS_OUTPUT_DIR"
exit 3
