/* cmd.h — the commands a UI sends to the reconstruction worker (fr_worker_send in worker.h).
 *
 * Kept apart from worker.h so the view, which only produces commands, does not see the
 * worker, the engine or the graph.
 */
#ifndef FRTUI_CMD_H
#define FRTUI_CMD_H

#include <stdint.h>

typedef enum {
    FR_CMD_PAUSE = 1,
    FR_CMD_RESUME,
    FR_CMD_STEP_UNIT,       /* run until the end of the current unit, then pause */
    FR_CMD_SET_STEP_MODE,   /* arg = 0/1 */
    FR_CMD_RESTART_UNIT,    /* arg = unit index: redo it (and, in order, everything after) */
    FR_CMD_SET_METHOD,      /* arg = fr_method, applies from the next unit / restart */
    FR_CMD_SET_BITS,        /* arg = bits */
    FR_CMD_SET_ITERS,       /* arg = iterations per unit */
    FR_CMD_COMPARE_UNIT,    /* arg = unit index: also compute the other methods for it */
    FR_CMD_CHECKPOINT,      /* write a checkpoint now (path from fr_worker_set_checkpoint) */
    FR_CMD_QUIT,
} fr_cmd_type;

typedef struct fr_cmd {
    fr_cmd_type type;
    int64_t arg;
} fr_cmd;

#endif
