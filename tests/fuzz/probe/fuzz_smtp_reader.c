/* Any bytes as an SMTP reply, fed in chunks the input chooses: the reader
 * must stay within its bounds and never read past what it was given. */
#include <stdint.h>
#include <string.h>

#include "probe/smtp_reader.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct probe_smtp_reader r;
	char err[128];
	size_t off = 0, chunk;
	enum probe_smtp_status st = PROBE_SMTP_MORE;

	if (size < 1)
		return 0;
	chunk = (size_t)(data[0] % 64) + 1;
	off = 1;
	probe_smtp_reader_init(&r);
	while (off < size) {
		size_t n = size - off < chunk ? size - off : chunk, used = 0;
		st = probe_smtp_reader_feed(&r, (const char *)data + off, n, &used, err, sizeof(err));
		if (used > n || r.total > PROBE_SMTP_REPLY_MAX || r.textlen >= sizeof(r.text))
			__builtin_trap();
		off += used;
		if (st != PROBE_SMTP_MORE) {
			if (st == PROBE_SMTP_DONE && (r.code < 200 || r.code > 599))
				__builtin_trap();
			probe_smtp_reader_init(&r);
		}
		if (used == 0 && st == PROBE_SMTP_MORE)
			__builtin_trap(); /* no progress on a non-empty chunk */
	}
	return 0;
}
