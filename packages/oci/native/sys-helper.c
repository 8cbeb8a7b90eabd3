/*
 * tsbuild-sys: the system calls Node has no API for (mount, umount2, syncfs, lgetxattr over a
 * tree), served to one tsbuild process over its stdin/stdout, so a step pays a pipe round trip
 * (~0.1 ms) instead of spawning mount/umount/getfattr/sync (~8 ms of the main thread each).
 * Built by scripts/build-native.mjs (cc, no dependencies); without it tsbuild spawns the tools.
 *
 * Request:  ID \0 OP \0 ARG \0 ARG ... \n   (no field holds \n: the caller checks)
 * Reply:    "ID RC ERRNO LEN\n" then LEN bytes (RC 0 ok, -1 failed with ERRNO)
 * Each request runs on a thread of its own (a long unmount never holds up a mount); a thread
 * that needs a working directory (relative lowerdirs) unshares its fs context first.
 *
 *   M CWD SOURCE TARGET FSTYPE FLAGS DATA   mount(2); an empty SOURCE/FSTYPE/DATA is NULL
 *   U TARGET FLAGS                          umount2(2)
 *   S PATH                                  syncfs(2) of PATH's file system
 *   G PATH NAME                             lgetxattr(2): the value of xattr NAME of PATH
 *   O DIR NAME                              directories under DIR (no symlink followed) whose
 *                                           xattr NAME is "y": their paths relative to DIR, each
 *                                           followed by \0 ("" is DIR itself)
 * It exits when its stdin closes, and when its parent dies.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/xattr.h>
#include <unistd.h>

#define MAX_FIELDS 8

static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;

struct request {
  char *line; /* owned */
  char *f[MAX_FIELDS];
  int n;
};

static void write_all(const char *p, size_t len) {
  while (len > 0) {
    ssize_t w = write(1, p, len);
    if (w < 0) {
      if (errno == EINTR) continue;
      _exit(1);
    }
    p += w;
    len -= (size_t)w;
  }
}

static void reply(const char *id, int rc, int err, const char *payload, size_t len) {
  char head[96];
  int h = snprintf(head, sizeof head, "%s %d %d %zu\n", id, rc, err, len);
  pthread_mutex_lock(&out_lock);
  write_all(head, (size_t)h);
  if (len) write_all(payload, len);
  pthread_mutex_unlock(&out_lock);
}

/* the opaque walk's output, per thread */
struct buf {
  char *p;
  size_t len, cap;
};
static __thread struct buf *walk_out;
static __thread const char *walk_name;
static __thread size_t walk_root_len;

static void buf_add(struct buf *b, const char *s, size_t n) {
  if (b->len + n > b->cap) {
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + n) cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) _exit(1);
    b->p = p;
    b->cap = cap;
  }
  memcpy(b->p + b->len, s, n);
  b->len += n;
}

static int walk_one(const char *path, const struct stat *st, int type, struct FTW *ftw) {
  (void)st;
  (void)ftw;
  if (type != FTW_D && type != FTW_DP) return 0;
  char v[8];
  ssize_t n = lgetxattr(path, walk_name, v, sizeof v);
  if (n == 1 && v[0] == 'y') {
    const char *rel = path + walk_root_len;
    if (*rel == '/') rel++;
    buf_add(walk_out, rel, strlen(rel) + 1);
  }
  return 0;
}

static void *serve(void *arg) {
  struct request *r = arg;
  const char *id = r->f[0], *op = r->f[1];
  int rc = -1, err = EINVAL;
  if (op[0] == 'M' && r->n == 8) {
    const char *cwd = r->f[2];
    if (*cwd && (unshare(CLONE_FS) != 0 || chdir(cwd) != 0)) {
      err = errno;
    } else {
      unsigned long flags = strtoul(r->f[6], NULL, 10);
      rc = mount(*r->f[3] ? r->f[3] : NULL, r->f[4], *r->f[5] ? r->f[5] : NULL, flags, *r->f[7] ? r->f[7] : NULL);
      err = rc ? errno : 0;
    }
    reply(id, rc, err, NULL, 0);
  } else if (op[0] == 'U' && r->n == 4) {
    rc = umount2(r->f[2], (int)strtol(r->f[3], NULL, 10));
    reply(id, rc, rc ? errno : 0, NULL, 0);
  } else if (op[0] == 'S' && r->n == 3) {
    int fd = open(r->f[2], O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
      rc = syncfs(fd);
      err = rc ? errno : 0;
      close(fd);
    } else {
      err = errno;
    }
    reply(id, rc, err, NULL, 0);
  } else if (op[0] == 'G' && r->n == 4) {
    char v[4096];
    ssize_t n = lgetxattr(r->f[2], r->f[3], v, sizeof v);
    if (n >= 0) reply(id, 0, 0, v, (size_t)n);
    else reply(id, -1, errno, NULL, 0);
  } else if (op[0] == 'O' && r->n == 4) {
    struct buf b = {0};
    walk_out = &b;
    walk_name = r->f[3];
    walk_root_len = strlen(r->f[2]);
    rc = nftw(r->f[2], walk_one, 32, FTW_PHYS);
    err = rc ? errno : 0;
    reply(id, rc ? -1 : 0, err, b.p, rc ? 0 : b.len);
    free(b.p);
  } else {
    reply(id, -1, EINVAL, NULL, 0);
  }
  free(r->line);
  free(r);
  return NULL;
}

int main(void) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() == 1) return 1; /* the parent is gone already */
  signal(SIGPIPE, SIG_IGN);
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_attr_setstacksize(&attr, 256 * 1024);
  for (;;) {
    char *line = NULL;
    size_t cap = 0;
    ssize_t len = getline(&line, &cap, stdin);
    if (len <= 0) {
      free(line);
      break;
    }
    if (line[len - 1] == '\n') line[--len] = '\0';
    struct request *r = calloc(1, sizeof *r);
    if (!r) return 1;
    r->line = line;
    char *p = line, *end = line + len;
    while (r->n < MAX_FIELDS) {
      r->f[r->n++] = p;
      char *z = memchr(p, '\0', (size_t)(end - p));
      if (!z) break;
      p = z + 1;
    }
    if (r->n < 2) {
      free(line);
      free(r);
      continue;
    }
    pthread_t t;
    if (pthread_create(&t, &attr, serve, r) != 0) serve(r);
  }
  /* stdin closed: wait for threads still writing by taking the lock once, then leave */
  pthread_mutex_lock(&out_lock);
  return 0;
}
