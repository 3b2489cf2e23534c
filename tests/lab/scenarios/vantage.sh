#!/bin/bash
# vantage: the vantage point's own uplink is cut; the targets and the
# control host are all unreachable from it.  The country is fine.
set -u
. "$(dirname "$0")/../lib.sh"
. "$LAB_DIR/checks.sh"
. "$LAB_DIR/measure.sh"

lab_up vantage
lab_write_config >/dev/null
lab_watch_start
lab_timeline_start
lab_check_all_healthy

# lightsout's collector session with the upstream (when this build has one).
if lab_measuring && lab_watch_had_bgp; then
	lab_wait_for 10 lab_bgp_established upstream vantage
	lab_check_bgp upstream vantage Established
fi

lab_at 12
lab_log fault vantage-uplink-down
lab_link_down vantage upstream
lab_at 14
lab_check_ping vantage "$LAB_CONTROL" local-unreachable
lab_check_ping vantage "$LAB_WEB1" local-unreachable
lab_check_bgp_down upstream vantage
# Seen from the control host, the country still answers.
lab_check_ping control "$LAB_WEB1" ok
lab_check_ping control "$LAB_BORDER" ok

lab_at 28
lab_log heal vantage-uplink-down
lab_link_up vantage upstream
# The kernel dropped the default route with the link.
lab_route vantage default via "$LAB_UP_VANTAGE"
lab_check_recovered

lab_at 40
lab_watch_stop
lab_measure_vantage
lab_finish
