#!/bin/bash
# dns: both name servers stop (the daemons end, so their hosts answer
# port unreachable); web and mail stay up.
set -u
. "$(dirname "$0")/../lib.sh"
. "$LAB_DIR/checks.sh"
. "$LAB_DIR/measure.sh"

lab_up dns
lab_write_config >/dev/null
lab_watch_start
lab_timeline_start
lab_check_all_healthy

lab_at 12
lab_log fault dns-down
lab_nsd_stop ns1
lab_nsd_stop ns2
lab_at 14
lab_check_dns vantage "$LAB_NS1" refused
lab_check_dns vantage "$LAB_NS2" refused
lab_check_ping vantage "$LAB_NS1" ok
lab_check_http vantage "http://$LAB_WEB1/" ok
lab_check_tcp vantage "$LAB_WEB2" 80 ok
# The mail server resolves its clients; with the name servers gone it must
# still greet (fast failures, short resolver timeouts).
lab_check_smtp vantage "$LAB_MAIL" ok

lab_at 28
lab_log heal dns-down
lab_nsd_start ns1
lab_nsd_start ns2
lab_check_recovered

lab_at 40
lab_watch_stop
lab_measure_dns
lab_finish
