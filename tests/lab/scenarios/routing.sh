#!/bin/bash
# routing: the border router withdraws the country's prefixes (birdc
# disable of its upstream session).  The routers stay alive: the border's
# own address, numbered outside the country, keeps answering, and the
# upstream, which has no default route, answers "net unreachable".
set -u
. "$(dirname "$0")/../lib.sh"
. "$LAB_DIR/checks.sh"
. "$LAB_DIR/measure.sh"

lab_up routing
lab_write_config >/dev/null
lab_watch_start
lab_timeline_start
lab_check_all_healthy

lab_at 12
lab_log fault bgp-withdraw
lab_bgp_disable
lab_at 14
lab_check_bgp_down upstream border
lab_check_route upstream "$LAB_PREFIX_A" absent
lab_check_route upstream "$LAB_PREFIX_B" absent
lab_check_ping vantage "$LAB_WEB1" "unreachable $LAB_UP_VANTAGE"
lab_check_ping vantage "$LAB_GW_B" "unreachable $LAB_UP_VANTAGE"
lab_check_ping vantage "$LAB_BORDER" ok
lab_check_ping vantage "$LAB_CONTROL" ok
lab_check_tcp vantage "$LAB_WEB2" 80 unreachable

lab_at 30
lab_log heal bgp-withdraw
lab_bgp_enable
lab_check_recovered

lab_at 42
lab_watch_stop
lab_measure_routing
lab_finish
