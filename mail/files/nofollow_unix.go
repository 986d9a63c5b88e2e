package files

import "golang.org/x/sys/unix"

// noFollow: a file saved for the user is never written through a symlink
// someone planted.
const noFollow = unix.O_NOFOLLOW
