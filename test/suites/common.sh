# shellcheck shell=bash
# The suites' harness now lives in test/lib.sh (one file for every test
# script); this file only sources it, so `. "$(dirname "$0")/common.sh"`
# keeps working. New code sources test/lib.sh directly.
# shellcheck source=test/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
