/*
 * go/labels: a goroutine's pprof labels, read from its g (g.labels, the
 * pointer runtime/pprof.SetGoroutineLabels and pprof.Do store, which a
 * go statement copies to the new goroutine).
 *
 * g.labels points at a runtime/pprof labelMap.  Up to Go 1.23 that is a
 * map[string]string: the pointer is to the map variable, which points at
 * its hmap (count, flags, B, ..., buckets, oldbuckets); each bucket holds
 * 8 tophash bytes, 8 keys, 8 values (Go strings) and an overflow pointer,
 * and a slot is used when its tophash is at least 5 (minTopHash; below
 * are empty and evacuated slots).  A map being grown keeps entries not
 * yet moved in its old buckets, whose moved slots are marked evacuated:
 * both arrays are walked, so each entry is seen once.  From Go 1.24 a
 * labelMap is a struct whose first field is a slice of {key, value}
 * string pairs, sorted by key.
 *
 * Everything is the target's and untrusted: the map's size, bucket count,
 * overflow chains, slice length and string lengths are bounded (a map of
 * more than 2^10 buckets or a chain of more than 8 overflow buckets is
 * refused; at most GO_LABELS_WALK entries are read, of which the first
 * LABELS_MAX by key are kept; strings are cut to LABEL_LEN_MAX bytes), a
 * map whose used slots do not add up to its count is refused.  Strings
 * are made valid UTF-8 without NUL bytes (each bad byte, and NUL, becomes
 * U+FFFD: Go would print \xNN for it) so that keys stay unique in JSON;
 * keys equal after that keep the first.
 *
 * Labels are immutable once set (WithLabels makes a new map or list), and
 * thousands of goroutines share one set (inherited by each goroutine a
 * labelled one starts): a memo reads each distinct pointer once per
 * snapshot and gives its entries the one pooled array.
 *
 * Memory: go_read_labels() returns an array of malloc'd strings, freed by
 * go_labels_free(); a memo is freed by go_labels_memo_free().
 */
#ifndef THREADLEAK_GO_LABELS_H
#define THREADLEAK_GO_LABELS_H

#include "go/runtime.h"
#include "model/snapshot.h"

#define GO_LABELS_WALK 1024
#define GO_MAP_MAX_B 10
#define GO_MAP_MAX_CHAIN 8

/*
 * The labels at ptr (g.labels, not 0) of a Go 1.minor program: 0 and
 * *out (NULL when the set is empty), *n; -EFAULT when unreadable, -EINVAL
 * when what is there is not a label set, -ENOMEM.
 */
int go_read_labels(struct memory *mem, int minor, uint64_t ptr, struct label **out,
		   size_t *n);
void go_labels_free(struct label *l, size_t n);

struct go_labels_memo;

/* An empty memo; NULL when out of memory. */
struct go_labels_memo *go_labels_memo_new(void);
void go_labels_memo_free(struct go_labels_memo *m);
/*
 * t's labels from g.labels = ptr (0: none), pooled in snap, read once
 * per pointer through m.  A set that cannot be read leaves t without
 * labels.  0, or -ENOMEM (m NULL: a memo that could not be made).
 */
int go_entry_labels(struct go_labels_memo *m, const struct go_runtime *rt,
		    struct memory *mem, struct snapshot *snap, uint64_t ptr,
		    struct thread *t);

#endif
