/* Between round.c and the engine: the engine tracks each target's open
 * round, to end it when it stops. */
#ifndef LIGHTSOUT_PROBE_ENGINE_ROUND_H
#define LIGHTSOUT_PROBE_ENGINE_ROUND_H

#include "probe/probe.h"

void probe_engine_round_opened(struct probe_engine *e, struct probe_round *r);

#endif
