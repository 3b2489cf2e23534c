#!/bin/bash
# host: one web server goes offline (silent); the rest of the country
# stays reachable.
set -u
. "$(dirname "$0")/../lib.sh"
. "$LAB_DIR/checks.sh"
. "$LAB_DIR/measure.sh"

lab_up host
lab_write_config >/dev/null
lab_watch_start
lab_timeline_start
lab_check_all_healthy

lab_at 12
lab_log fault web1-offline
lab_silence web1
lab_at 14
lab_check_ping vantage "$LAB_WEB1" timeout
lab_check_http vantage "http://$LAB_WEB1/" timeout
lab_check_tcp vantage "$LAB_WEB2" 80 ok
lab_check_smtp vantage "$LAB_MAIL" ok
lab_check_dns vantage "$LAB_NS1" ok
lab_check_ping vantage "$LAB_GW_A" ok

lab_at 28
lab_log heal web1-offline
lab_unsilence web1
lab_check_recovered

lab_at 40
lab_watch_stop
lab_measure_host
lab_finish
