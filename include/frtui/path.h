/* path.h — two questions about names and paths that several commands and readers ask. */
#ifndef FRTUI_PATH_H
#define FRTUI_PATH_H

/* 1 when s ends with suffix (case-sensitive). */
int fr_str_ends_with(const char *s, const char *suffix);
/* 1 when path names a directory (following symlinks); 0 for anything else or an error. */
int fr_path_is_dir(const char *path);

#endif
