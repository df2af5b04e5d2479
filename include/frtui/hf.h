/* hf.h — Hugging Face LLaMA-family checkpoints (config.json + *.safetensors) as frtui models.
 *
 * Design note
 *   Accepted: model_type "llama", "mistral" (sliding window no shorter than the window T) and
 *   "qwen2" (q/k/v biases), SiLU MLPs, no rope_scaling; weights F32, F16 or BF16 in one
 *   model.safetensors or shards listed by model.safetensors.index.json.  Everything else is
 *   refused with one line naming the file and the field.  The graph is llama.h's; Hugging
 *   Face's RoPE is rotate-half, frtui's too, so no row permutation happens here (the GGUF
 *   export does llama.cpp's).  A tied head (tie_word_embeddings, or no lm_head.weight) is
 *   copied from the embedding: the embedding stays full precision while the head is quantized.
 *
 *   Shard names from the index must be plain file names in the checkpoint's folder (no '/'),
 *   so a crafted index cannot reach outside it; the files themselves may be symlinks, as in
 *   Hugging Face's cache (snapshots/<rev>/ links to ../../blobs/).  The memory the weights need
 *   is checked (fr_mem_check) before anything is allocated; shards are mapped, not read.
 */
#ifndef FRTUI_HF_H
#define FRTUI_HF_H

#include "frtui/graph.h"
#include "frtui/llama.h"

/* True when path is a folder holding config.json, or a file named config.json. */
int fr_hf_is_checkpoint(const char *path);

/* Reads the architecture of the checkpoint at path (folder or its config.json) into *a (T left
 * 0) and its max_position_embeddings (0 when absent) into *max_pos. */
int fr_hf_config(const char *path, fr_lm_arch *a, int *max_pos, fr_err *e);

/* Imports the checkpoint with windows of T tokens into an initialised m. */
int fr_hf_import(const char *path, int T, fr_model *m, fr_err *e);

#endif
