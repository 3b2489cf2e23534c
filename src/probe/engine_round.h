/* Between round.c and the engine: the engine tracks each target's open
 * round, to end it when it stops, and queues rounds waiting for a token
 * of the rate cap. */
#ifndef LIGHTSOUT_PROBE_ENGINE_ROUND_H
#define LIGHTSOUT_PROBE_ENGINE_ROUND_H

#include "probe/probe.h"

void probe_engine_round_opened(struct probe_engine *e, struct probe_round *r);
/* True if r may send now (it took a token); false if it waits in the
 * queue, behind the rounds that asked before, for probe_round_sent. */
bool probe_engine_queue_send(struct probe_engine *e, struct probe_round *r);
/* Takes r out of the queue if it waits there. */
void probe_engine_unqueue(struct probe_engine *e, struct probe_round *r);
/* The queue gave r its token: r starts now. */
void probe_round_sent(struct probe_round *r);

#endif
