/* SipHash-2-4 (Aumasson, Bernstein): a keyed hash, used to make probe
 * payloads unforgeable by anyone who does not know the per-run key. */
#ifndef LIGHTSOUT_SIPHASH_H
#define LIGHTSOUT_SIPHASH_H

#include <stddef.h>
#include <stdint.h>

uint64_t siphash24(const uint8_t key[16], const void *data, size_t len);

#endif
