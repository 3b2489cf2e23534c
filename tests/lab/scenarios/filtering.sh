#!/bin/bash
# filtering: the border router drops all traffic into the country (all it
# forwards, and what is for its own addresses inside the prefixes) but
# keeps its BGP session (the Libya 2011 pattern): the prefixes stay
# announced well past a hold time while the data plane is silent.  The
# border's address outside the country still answers.
set -u
. "$(dirname "$0")/../lib.sh"
. "$LAB_DIR/checks.sh"
. "$LAB_DIR/measure.sh"

lab_up filtering
lab_write_config >/dev/null
lab_watch_start
lab_timeline_start
lab_check_all_healthy

lab_at 12
lab_log fault forward-drop
lab_filter_forward
lab_at 14
lab_check_ping vantage "$LAB_WEB1" timeout
lab_check_tcp vantage "$LAB_WEB2" 80 timeout
lab_check_smtp vantage "$LAB_MAIL" timeout
lab_check_dns vantage "$LAB_NS2" timeout
lab_check_ping vantage "$LAB_GW_A" timeout
lab_check_ping vantage "$LAB_BORDER" ok
lab_check_ping vantage "$LAB_CONTROL" ok

# Past twice the hold time (9 s): the session and the routes are still there.
lab_at 32
lab_check_bgp upstream border Established
lab_check_route upstream "$LAB_PREFIX_A" present
lab_check_route upstream "$LAB_PREFIX_B" present
lab_check_ping vantage "$LAB_WEB2" timeout

lab_at 35
lab_log heal forward-drop
lab_unfilter_forward
lab_check_recovered

lab_at 47
lab_watch_stop
lab_measure_filtering
lab_finish
