/* outset.h — writing several output files as one: all of them, or none.
 *
 * Design note
 *   A command with several outputs (e.g. `frtui export -o Q.frm --safetensors Q.st`) must not
 *   leave a partial set when a later one fails.  The caller encodes every output in memory
 *   first (encoding failures then touch no file); fr_outset_write then
 *     1. refuses the same path given twice (the second would silently replace the first),
 *     2. writes every buffer to its temp file (fr_atomic_open), flushed and fsync'd,
 *     3. only when all temps are complete, renames them into place in order.
 *   A failure in 1-2 removes every temp and changes nothing.  Step 3 can fail only on a rename
 *   (e.g. the target is a directory); then the outputs renamed before it that did not exist
 *   before are removed again, the rest of the temps too, and the message says which earlier
 *   targets were replaced (a replaced file cannot be restored without keeping a copy).
 */
#ifndef FRTUI_OUTSET_H
#define FRTUI_OUTSET_H

#include <stddef.h>
#include <stdint.h>

#include "frtui/common.h"

typedef struct fr_outfile {
    const char *path;
    const uint8_t *data;
    size_t n;
} fr_outfile;

int fr_outset_write(const fr_outfile *f, int n, fr_err *e);

#endif
