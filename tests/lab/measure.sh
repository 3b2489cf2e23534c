# shellcheck shell=bash
# Measurement assertions: what lightsout's store must show after a
# scenario.  Filled in once watch and the store exist.
lab_measuring() { lab_have_lightsout && [ "${LAB_WIRE_ONLY:-0}" != 1 ]; }
lab_measure_routing() { :; }
lab_measure_filtering() { :; }
lab_measure_power() { :; }
lab_measure_dns() { :; }
lab_measure_host() { :; }
lab_measure_vantage() { :; }
lab_measure_quiet() { :; }
lab_measure_stress() { :; }
