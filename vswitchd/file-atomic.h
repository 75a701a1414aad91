/*
 * file-atomic.h - replacing a file so that no reader and no crash ever
 * sees half of it.
 *
 * The data goes to a new temporary file in the same directory (same file
 * system, so rename is atomic), is synced, and is renamed over the target;
 * then the directory is synced so the rename itself survives a power cut.
 * Any failure (a full disk, say) removes the temporary file and leaves the
 * old one as it was.  Shared by the daemon (autosave) and vswctl (save
 * FILE), which writes with its user's rights, not the daemon's.  The
 * daemon keeps a descriptor of its file's directory, opened before it gave
 * up root, and writes relative to it (file_write_atomic_at()).
 */
#ifndef VSW_FILE_ATOMIC_H
#define VSW_FILE_ATOMIC_H

#include <stddef.h>
#include <sys/types.h>

/* 0, or an errno with "PATH: what failed: why" in err. */
int	file_write_atomic(const char *path, const void *data, size_t len,
	    mode_t mode, char *err, size_t errlen);
/* The same for name (no '/') in the directory dirfd; label in messages. */
int	file_write_atomic_at(int dirfd, const char *name, const char *label,
	    const void *data, size_t len, mode_t mode, char *err,
	    size_t errlen);
/*
 * A descriptor of path's directory and, in *name, path's last component
 * (pointing into path); a negative errno with err filled on failure.
 */
int	file_dir_open(const char *path, const char **name, char *err,
	    size_t errlen);

#endif
